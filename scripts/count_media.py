"""Instructions ``grok2api run`` executes per image job, counted by valgrind's callgrind.

    uv run python scripts/count_media.py [--images 200] [--concurrency 16] [--b64]
        [--keep-callgrind DIR]

The CPU time an image job costs is what grok2api adds to an image request on a busy
machine (docs/performance.md, **Media**), but CPU time on the shared 2-core VM drifts by
15-30% within minutes. Instruction counts do not: this starts the simulator and
``grok2api run`` (the single-process mode: gateway, in-process job queue, media worker,
token pool; under callgrind, instrumentation off), warms up with 100 one-image requests
(``POST /v1/images/generations``, n 1, ``url`` or ``--b64``), counts ``--images`` more, and
prints instructions per image, every thread of the process included (the media store's
writes run in worker threads). The upstream exchange (the Imagine WebSocket, decoding the
image) is inside the count; the simulator's work and the kernel's (the file write) are not.
Needs valgrind; takes about two minutes. ``--keep-callgrind DIR`` keeps the callgrind output
(for ``callgrind_annotate --inclusive=yes`` breakdowns).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

import bench_media as bench
from bench_gateway import add_accounts, free_port, wait_port
from bench_gateway_procs import stop
from count_gateway import callgrind_control, callgrind_total

WARMUP_IMAGES = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--b64", action="store_true", help="response_format b64_json")
    parser.add_argument("--keep-callgrind", type=Path, metavar="DIR",
                        help="copy the callgrind output into DIR")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    counted = count(args)
    shape = "b64_json" if args.b64 else "url"
    print(f"{counted / 1e6:.3f} M instructions per image job (n 1, {shape}; {args.images} "
          f"images, concurrency {args.concurrency})")


def count(args: argparse.Namespace) -> float:
    """Instructions per image job of one ``grok2api run``."""
    body = {**bench.IMAGE_BODY, "response_format": "b64_json" if args.b64 else "url"}
    with tempfile.TemporaryDirectory(prefix="count-media-") as tmp:
        data_dir = Path(tmp)
        sim, sim_url = bench.start_simulator(data_dir / "sim")
        port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
        env = bench.service_env(data_dir / "single", sim_url, SERVER_PORT=str(port),
                                TOKEN_POOL_ADDR=pool_addr)
        wrapper = ("valgrind", "-q", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={data_dir / 'callgrind.out'}")
        gateway = bench.start("all", env, wrapper=wrapper)
        try:
            wait_port(port, gateway, timeout=600.0)  # start-up under valgrind is slow
            asyncio.run(_counted(port, pool_addr, body, args, gateway.pid))
        finally:
            stop(gateway, sim)
        outputs = sorted(data_dir.glob("callgrind.out*"))
        counted = sum(callgrind_total(path) for path in outputs)
        if args.keep_callgrind is not None:
            _keep(outputs, args)
    return counted / args.images


def _keep(outputs: list[Path], args: argparse.Namespace) -> None:
    """Copy the callgrind outputs; a multi-part dump keeps its part suffix."""
    args.keep_callgrind.mkdir(parents=True, exist_ok=True)
    stem = f"callgrind.media.c{args.concurrency}.{'b64' if args.b64 else 'url'}"
    for path in outputs:
        suffix = path.name.removeprefix("callgrind.out")
        shutil.copyfile(path, args.keep_callgrind / f"{stem}{suffix}")


async def _counted(port: int, pool_addr: str, body: dict[str, object],
                   args: argparse.Namespace, pid: int) -> None:
    """Accounts in, the warm-up, then ``args.images`` images with instrumentation on."""
    await add_accounts(pool_addr, bench.ACCOUNTS)
    async with bench.Http(f"http://127.0.0.1:{port}") as http:
        await _images(http, body, WARMUP_IMAGES, args.concurrency)
        callgrind_control("-i", "on", pid)
        await _images(http, body, args.images, args.concurrency)
        callgrind_control("-i", "off", pid)
        callgrind_control("-d", pid)


async def _images(http: bench.Http, body: dict[str, object], count: int,
                  concurrency: int) -> None:
    left = [count]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            response = await http.post("/v1/images/generations", json=body)
            if response.status_code != 200:
                raise SystemExit(f"grok2api answered {response.status_code}: "
                                 f"{response.text[:300]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


if __name__ == "__main__":
    main()
