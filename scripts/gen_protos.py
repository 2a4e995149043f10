"""Generate the Python gRPC stubs from ``proto/`` into ``libs/protos/src/``.

Usage:
    python scripts/gen_protos.py           regenerate the committed stubs
    python scripts/gen_protos.py --check   regenerate into a temporary folder and exit 1, with
                                           a unified diff, when the committed stubs differ

Every ``*.proto`` under ``proto/`` is compiled with ``grpc_tools.protoc`` (``--python_out``,
``--pyi_out``, ``--grpc_python_out``) using ``-I proto``, so a file at
``proto/grok2api/tokenpool/v1/token_pool.proto`` becomes the importable module
``grok2api.tokenpool.v1.token_pool_pb2``. Each generated folder gets an ``__init__.py``.
"""

from __future__ import annotations

import argparse
import difflib
import pathlib
import shutil
import sys
import tempfile

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "libs" / "protos" / "src"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "__init__.py")


def generate(*, out_dir: pathlib.Path) -> None:
    """Compile every proto into ``out_dir`` and add the package ``__init__.py`` files."""
    protos = sorted(PROTO_DIR.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_DIR}")
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p.relative_to(PROTO_DIR)) for p in protos),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for proto in protos:
        package_dir = out_dir / proto.relative_to(PROTO_DIR).parent
        while package_dir != out_dir:
            (package_dir / "__init__.py").touch()
            package_dir = package_dir.parent


def _generated_files(base: pathlib.Path) -> dict[str, str]:
    top_packages = {p.relative_to(PROTO_DIR).parts[0] for p in PROTO_DIR.rglob("*.proto")}
    files: dict[str, str] = {}
    for top in top_packages:
        for path in (base / top).rglob("*"):
            if path.is_file() and path.name.endswith(GENERATED_SUFFIXES):
                files[str(path.relative_to(base))] = path.read_text()
    return files


def check() -> int:
    """Return 0 when the committed stubs equal a fresh generation, else print a diff and 1."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = pathlib.Path(tmp)
        generate(out_dir=fresh_dir)
        fresh = _generated_files(fresh_dir)
    committed = _generated_files(OUT_DIR)
    drift = False
    for name in sorted(fresh.keys() | committed.keys()):
        old, new = committed.get(name, ""), fresh.get(name, "")
        if old != new:
            drift = True
            sys.stdout.writelines(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    fromfile=f"committed/{name}",
                    tofile=f"generated/{name}",
                )
            )
    if drift:
        print("generated stubs are stale: run `make proto` and commit", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the stubs are stale")
    args = parser.parse_args()
    if args.check:
        return check()
    for top in {p.relative_to(PROTO_DIR).parts[0] for p in PROTO_DIR.rglob("*.proto")}:
        shutil.rmtree(OUT_DIR / top, ignore_errors=True)
    generate(out_dir=OUT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
