"""Instructions the gateway executes per chat request, counted by valgrind's callgrind.

    uv run python scripts/count_gateway.py [--requests 300] [--concurrency 16] [--plain]

CPU time on a shared 2-core VM drifts by 15-30% within minutes, so a change worth a few
percent cannot be seen in ``bench_gateway.py``'s timings. Instruction counts can: the same
code gives the same count within about 1%. This starts the simulator and ``grok2api run``
(under callgrind, instrumentation off), warms up with 200 requests, counts ``--requests``
more, and prints instructions per request. Needs valgrind (Debian package ``valgrind``);
takes about a minute and a half. Not a speed: kernel time and cache misses are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import bench_gateway as bench

WARMUP_REQUESTS = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plain", action="store_true", help="non-streaming requests")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as data_dir:
        callgrind = ("valgrind", "-q", "--tool=callgrind", "--instr-atstart=no",
                     f"--callgrind-out-file={Path(data_dir) / 'callgrind.out'}")
        # startup under valgrind is slow
        sim, gateway = bench.start_processes(16, data_dir, "uvloop", "grok", wrapper=callgrind,
                                             startup_timeout=600.0)
        try:
            send = _requests(gateway.port, stream=not args.plain,  # type: ignore[attr-defined]
                             concurrency=args.concurrency)
            asyncio.run(send(WARMUP_REQUESTS))
            _control("-i", "on", gateway.pid)
            asyncio.run(send(args.requests))
            _control("-i", "off", gateway.pid)
            _control("-d", gateway.pid)
        finally:
            for process in (gateway, sim):
                process.terminate()
                process.wait(60)
        counted = sum(_total(path) for path in Path(data_dir).glob("callgrind.out*"))
    kind = "plain" if args.plain else "streamed"
    print(f"{counted / args.requests / 1e6:.3f} M instructions per {kind} request "
          f"({args.requests} requests, concurrency {args.concurrency})")


def _requests(port: int, *, stream: bool, concurrency: int) -> Any:
    body = json.dumps({"model": "grok-4", "stream": stream,
                       "messages": [{"role": "user", "content": "Hello there"}]}).encode()
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body

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


def _control(*args: object) -> None:
    subprocess.run(["callgrind_control", *map(str, args)], check=True, capture_output=True)


def _total(path: Path) -> int:
    match = re.search(r"^totals:\s+(\d+)", path.read_text(errors="replace"), re.MULTILINE)
    return int(match.group(1)) if match else 0


if __name__ == "__main__":
    main()
