"""Instructions the gateway executes per chat request, counted by valgrind's callgrind.

    uv run python scripts/count_gateway.py [--requests 300] [--concurrency 16] [--plain]
        [--access none|memory|redis|all] [--redis-url redis://127.0.0.1:6379/0]
        [--keep-callgrind DIR]

CPU time on a shared 2-core VM drifts by 15-30% within minutes, so a change worth a few
percent cannot be seen in ``bench_gateway.py``'s timings. Instruction counts can: the same
code gives the same count within about 1%. This starts the simulator and ``grok2api run``
(under callgrind, instrumentation off), warms up with 200 requests, counts ``--requests``
more, and prints instructions per request. Needs valgrind (Debian package ``valgrind``);
takes about a minute and a half. Not a speed: kernel time and cache misses are not counted.

``--access`` counts the hand-wired gateway of ``bench_gateway.py --access`` instead (issue
#16: what client keys cost): ``none`` (an open API), ``memory`` (a client key with every
limit set, in-process limits, records into SQLite) and ``redis`` (limits and records through
the Redis of ``--redis-url``, under a prefix of its own, deleted at the end); ``all`` counts
the three one after another and prints each one's difference from ``none``. The count
includes the usage records' background writing: after the counted requests it waits for the
usage flush (and, for redis, the drainer) before counting stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import bench_gateway as bench

WARMUP_REQUESTS = 200
FLUSH_WAIT_SECONDS = 4.0
"""Time left, under callgrind, for the usage log's 1 s flush and the drainer's pass."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plain", action="store_true", help="non-streaming requests")
    parser.add_argument("--access", choices=("none", "memory", "redis", "all"),
                        help="count the hand-wired gateway with this client-access wiring "
                        "(see bench_gateway.py --access); unset: `grok2api run`")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="the Redis of --access redis")
    parser.add_argument("--keep-callgrind", type=Path, metavar="DIR",
                        help="copy each gateway's callgrind output into DIR")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    kind = "plain" if args.plain else "streamed"
    if args.access is None:
        counted = count(args, access=None)
        print(f"{counted / 1e6:.3f} M instructions per {kind} request "
              f"({args.requests} requests, concurrency {args.concurrency})")
        return
    variants = ("none", "memory", "redis") if args.access == "all" else (args.access,)
    counts = {}
    for variant in variants:
        counts[variant] = count(args, access=variant)
        print(f"{variant}: {counts[variant] / 1e6:.3f} M instructions per {kind} request "
              f"({args.requests} requests, concurrency {args.concurrency})", flush=True)
    if "none" in counts:
        for variant, counted in counts.items():
            if variant != "none":
                extra = counted - counts["none"]
                print(f"{variant} - none: {extra / 1e3:+.1f} k instructions per request "
                      f"({extra / counts['none']:+.1%})")


def count(args: argparse.Namespace, *, access: str | None) -> float:
    """Instructions per request of one gateway (``access``: a hand-wired variant)."""
    prefix = f"count-gateway-{uuid.uuid4().hex[:12]}:"
    with tempfile.TemporaryDirectory() as data_dir:
        callgrind = ("valgrind", "-q", "--tool=callgrind", "--instr-atstart=no",
                     f"--callgrind-out-file={Path(data_dir) / 'callgrind.out'}")
        # startup under valgrind is slow
        sim = bench.start_simulator(16, data_dir)
        gateway = None
        try:
            gateway = bench.start_gateway(sim, 16, data_dir, "uvloop", "grok", wrapper=callgrind,
                                          startup_timeout=600.0, access=access,
                                          redis_url=args.redis_url, redis_prefix=prefix)
            send = _requests(gateway.port, stream=not args.plain,  # type: ignore[attr-defined]
                             concurrency=args.concurrency,
                             key=getattr(gateway, "key", None))
            asyncio.run(send(WARMUP_REQUESTS))
            if access not in (None, "none"):
                time.sleep(FLUSH_WAIT_SECONDS)  # the warm-up's records are written first
            callgrind_control("-i", "on", gateway.pid)
            asyncio.run(send(args.requests))
            if access not in (None, "none"):
                time.sleep(FLUSH_WAIT_SECONDS)  # and the counted ones inside the count
            callgrind_control("-i", "off", gateway.pid)
            callgrind_control("-d", gateway.pid)
        finally:
            for process in (gateway, sim):
                if process is not None:
                    process.terminate()
                    process.wait(120)
            if access == "redis":
                bench._delete_prefix(args.redis_url, prefix)
        outputs = sorted(Path(data_dir).glob("callgrind.out*"))
        counted = sum(callgrind_total(path) for path in outputs)
        if args.keep_callgrind is not None:
            _keep(outputs, args, access=access)
    return counted / args.requests


def _keep(outputs: list[Path], args: argparse.Namespace, *, access: str | None) -> None:
    """Copy the callgrind outputs; a multi-part dump keeps its part suffix."""
    args.keep_callgrind.mkdir(parents=True, exist_ok=True)
    kind = "plain" if args.plain else "streamed"
    stem = f"callgrind.{access or 'run'}.c{args.concurrency}.{kind}"
    for path in outputs:
        suffix = path.name.removeprefix("callgrind.out")
        shutil.copyfile(path, args.keep_callgrind / f"{stem}{suffix}")


def _requests(port: int, *, stream: bool, concurrency: int, key: str | None = None) -> Any:
    body = json.dumps({"model": "grok-4", "stream": stream,
                       "messages": [{"role": "user", "content": "Hello there"}]}).encode()
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               f"{auth}\r\n").encode() + body

    async def send(count: int) -> None:
        left = [count]

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                while left[0] > 0:
                    left[0] -= 1
                    status, _, _ = await bench.one_request(reader, writer, request, b"")
                    if status != 200:
                        raise SystemExit(f"the gateway answered {status}")
            finally:
                writer.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    return send


def callgrind_control(*args: object) -> None:
    subprocess.run(["callgrind_control", *map(str, args)], check=True, capture_output=True)


def callgrind_total(path: Path) -> int:
    match = re.search(r"^totals:\s+(\d+)", path.read_text(errors="replace"), re.MULTILINE)
    return int(match.group(1)) if match else 0


if __name__ == "__main__":
    main()
