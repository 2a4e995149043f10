"""Benchmark of the simulator on loopback (bounded in time: about a minute).

    uv run python simulator/bench.py [--duration 10] [--concurrency 64]

1. Throughput: `--concurrency` keep-alive connections post chat requests and read each whole
   NDJSON body (non-streaming collection) for `--duration` seconds; prints requests/s.
2. Slow streams: a second simulator with `--token-delay-ms 100` serves N concurrent
   streams (about 1.7 s each) for growing N; a level is sustained when every stream
   completes and the slowest takes less than 2x the ideal duration. Server CPU per stream
   gives the load-independent estimate of how many such streams one core can carry.

The simulator runs in a subprocess (uvloop + httptools when installed), the load generator
is a minimal asyncio HTTP/1.1 client so the client costs as little CPU as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import time
import uuid
from pathlib import Path

import orjson
from grok_sim.testing import SimulatorProcess

CREDENTIAL = "sim-tier-heavy-quota-100000000"
STATSIG = base64.b64encode(b"e:TypeError: Cannot read properties of undefined (reading 'x')")


def chat_request(port: int, message: str) -> bytes:
    body = orjson.dumps({
        "message": message, "modeId": "fast", "temporary": True, "fileAttachments": [],
        "imageAttachments": [], "sendFinalMetadata": True, "disableMemory": True,
        "enableImageGeneration": False, "imageGenerationCount": 2, "responseMetadata": {},
    })
    head = (
        f"POST /rest/app-chat/conversations/new HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Cookie: sso={CREDENTIAL}; sso-rw={CREDENTIAL}\r\nx-statsig-id: {STATSIG.decode()}\r\n"
        f"x-xai-request-id: {uuid.uuid4()}\r\nOrigin: https://grok.com\r\n"
        "Referer: https://grok.com/\r\nUser-Agent: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """(status, body bytes) of one HTTP/1.1 response (content-length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        size = 0
        while True:
            length = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if length == 0:
                await reader.readuntil(b"\r\n")
                return status, size
            size += len(await reader.readexactly(length + 2)) - 2
    length = int(lowered.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    return status, len(await reader.readexactly(length))


async def throughput(port: int, *, concurrency: int, duration: float) -> tuple[float, int]:
    done = errors = 0
    deadline = time.perf_counter() + duration

    async def worker(index: int) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = chat_request(port, f"benchmark message {index}")
        while time.perf_counter() < deadline:
            writer.write(request)
            status, _ = await read_response(reader)
            done += status == 200
            errors += status != 200
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done / (time.perf_counter() - started), errors


async def slow_streams(port: int, *, streams: int) -> tuple[int, float]:
    async def one(index: int) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(chat_request(port, f"slow {index}"))
            status, size = await read_response(reader)
            writer.close()
            return status == 200 and size > 0
        except (OSError, asyncio.IncompleteReadError):
            return False

    started = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(streams)))
    return sum(results), time.perf_counter() - started


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--levels", default="250,500,1000,2000,4000")
    args = parser.parse_args()
    process = SimulatorProcess(extra_args=["--tokens-per-reply", "12"])
    with process as sim:
        asyncio.run(throughput(sim.port, concurrency=8, duration=1.0))
        pid = process.process.pid if process.process else 0
        server_before, client_before = process_cpu_seconds(pid), time.process_time()
        rate, errors = asyncio.run(throughput(sim.port, concurrency=args.concurrency,
                                              duration=args.duration))
        server_cpu = process_cpu_seconds(pid) - server_before
        client_cpu = time.process_time() - client_before
        requests = rate * args.duration
        print(f"throughput concurrency={args.concurrency} requests_per_s={rate:.0f} "
              f"errors={errors} server_cpu_ms_per_request={1000 * server_cpu / requests:.3f} "
              f"server_cpu_share={server_cpu / args.duration:.2f} "
              f"client_cpu_share={client_cpu / args.duration:.2f} "
              f"server_capacity_per_core={requests / server_cpu:.0f}")
    delay_ms, tokens = 100.0, 12
    process = SimulatorProcess(token_delay_ms=delay_ms,
                               extra_args=["--tokens-per-reply", str(tokens)])
    with process as sim:
        pid = process.process.pid if process.process else 0
        for level in (int(n) for n in args.levels.split(",")):
            server_before, client_before = process_cpu_seconds(pid), time.process_time()
            completed, elapsed = asyncio.run(slow_streams(sim.port, streams=level))
            server_cpu = process_cpu_seconds(pid) - server_before
            client_cpu = time.process_time() - client_before
            frames = tokens + 7
            target = frames * delay_ms / 1000
            sustained = completed == level and elapsed < 2 * target
            print(f"slow_streams streams={level} completed={completed} elapsed_s={elapsed:.2f} "
                  f"ideal_s={target:.2f} server_cpu_share={server_cpu / elapsed:.2f} "
                  f"client_cpu_share={client_cpu / elapsed:.2f} "
                  f"server_cpu_ms_per_stream={1000 * server_cpu / level:.2f} "
                  f"streams_per_core_estimate={target * level / max(server_cpu, 1e-9):.0f} "
                  f"sustained={sustained}")
            if not sustained:
                break


if __name__ == "__main__":
    main()
