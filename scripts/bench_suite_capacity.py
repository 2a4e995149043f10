"""Concurrent-stream capacity of one gateway process for ``make bench``: how many slow
streaming chats it holds open at once, and its RSS while it does.

The simulator is slowed with its global ``slow-tokens`` fault (every token a second apart)
and its answers lengthened (``TOKENS_PER_REPLY``), so an answer outlasts the measurement
window; ``streams`` clients each open a streaming chat at once and read it. A stream counts
as held from its first content token until it ends; the window closes when every stream is
held (seen three times), when no more have been held for ``PLATEAU_SECONDS`` (a plateau:
something caps them), or after ``seconds`` (``ended`` says which).
Whatever is still open then is closed by the client. The gateway runs with its default
settings (only the upstream URLs, the chat protocol and the per-account lease cap differ,
see bench_gateway_procs.start_single_process), so a cap that queues streams shows as fewer
held than asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from typing import Any

from bench_suite_chat import rss_mb

RSS_TARGET_MB = 400.0
TOKEN_DELAY_MS = 1000
# Words in an answer while measuring: at a token a second, longer than any window, so no
# stream ends (and frees its place) before the count is read.
TOKENS_PER_REPLY = 600
PLATEAU_SECONDS = 5.0
# A content delta with text in it: the role-only first chunk a gateway may send before it
# reaches the upstream does not count as a held stream.
CONTENT = re.compile(rb'"content":"[^"]')


@dataclasses.dataclass(kw_only=True)
class Streams:
    held: int = 0
    completed: int = 0
    errors: int = 0


def stream_request(port: int) -> bytes:
    body = json.dumps({"model": "grok-4", "stream": True,
                       "messages": [{"role": "user", "content": "Hello there"}]}).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def one_stream(port: int, request: bytes, streams: Streams) -> None:
    held = False
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head.split(b" ", 2)[1]) != 200:
            streams.errors += 1
            return
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                break
            chunk = await reader.readexactly(size + 2)
            if not held and CONTENT.search(chunk):
                held = True
                streams.held += 1
        streams.completed += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        streams.errors += 1
    finally:
        if held:
            streams.held -= 1
        if writer is not None:
            writer.close()


async def measure(*, port: int, pid: int, streams: int, seconds: float,
                  interval: float = 0.25) -> dict[str, Any]:
    """Open ``streams`` slow streams on the gateway at ``port`` (process ``pid``, the
    simulator already slowed); the most held at once, the RSS then and at its peak."""
    state = Streams()
    request = stream_request(port)
    idle = rss_mb(pid)
    began = time.monotonic()
    tasks = [asyncio.create_task(one_stream(port, request, state)) for _ in range(streams)]
    most, rss_at_most, peak, full_samples = 0, idle, idle, 0
    time_to_most = None
    ended = "window"
    while time.monotonic() - began < seconds:
        await asyncio.sleep(interval)
        rss = rss_mb(pid)
        peak = max(peak, rss)
        now = time.monotonic() - began
        if state.held > most:
            most, rss_at_most, time_to_most = state.held, rss, now
        full_samples += state.held == streams
        if full_samples >= 3:
            ended = "all held"
            break
        if time_to_most is not None and now - time_to_most >= PLATEAU_SECONDS:
            ended = "plateau"  # no new stream held for a while: a cap, not the ramp
            break
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "streams_asked": streams, "held_at_once": most, "rss_idle_mb": round(idle, 1),
        "rss_at_most_held_mb": round(rss_at_most, 1), "rss_peak_mb": round(peak, 1),
        "rss_target_mb": RSS_TARGET_MB, "seconds_to_most_held":
            None if time_to_most is None else round(time_to_most, 2),
        "window_seconds": round(time.monotonic() - began, 2), "ended": ended,
        "completed_in_window": state.completed, "errors": state.errors,
        "all_held_under_target": most == streams and peak < RSS_TARGET_MB,
    }
