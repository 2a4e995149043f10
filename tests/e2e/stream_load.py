"""Many concurrent streaming chats from one process, over raw asyncio connections (the
openai SDK costs too much CPU per stream for hundreds at once on this machine), and a
process's resident memory."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

BODY = json.dumps({
    "model": "grok-4", "stream": True, "messages": [{"role": "user", "content": "slowly"}],
}).encode()


@dataclasses.dataclass
class Outcome:
    """How one stream ended: ``text`` the answer's content received, ``done`` whether the
    ``data: [DONE]`` line came, ``left`` whether this client hung up on purpose."""

    text: str = ""
    done: bool = False
    left: bool = False
    error: str = ""


async def stream_chat(port: int, *, style: str, limit: float = 120.0) -> Outcome:
    """One streaming chat. ``style``: ``fast`` reads as fast as it can, ``slow`` reads 256
    bytes at a time with a pause between reads, ``leave`` hangs up (a reset, as a killed
    client does) once the first content has arrived. A stream still open after ``limit``
    seconds ends with ``error="hung"`` (a guard, so a stuck stream fails the test instead
    of hanging it)."""
    try:
        async with asyncio.timeout(limit):
            return await _stream_chat(port, style=style)
    except TimeoutError:
        return Outcome(error="hung")


async def _stream_chat(port: int, *, style: str) -> Outcome:
    outcome = Outcome()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    raw = b""
    try:
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(BODY), BODY)
        )
        while True:
            data = await reader.read(256 if style == "slow" else 65536)
            if not data:
                break
            raw += data
            if style == "slow":
                await asyncio.sleep(0.02)
            if style == "leave" and b'"content":"' in raw.partition(b"\r\n\r\n")[2]:
                outcome.left = True
                writer.transport.abort()
                return outcome
    except OSError as exc:
        outcome.error = type(exc).__name__
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        outcome.error = head.split(b"\r\n", 1)[0].decode(errors="replace")
        return outcome
    for line in dechunk(body).decode().splitlines():
        if line == "data: [DONE]":
            outcome.done = True
        elif line.startswith("data: "):
            for choice in json.loads(line[6:]).get("choices", []):
                outcome.text += choice.get("delta", {}).get("content") or ""
    return outcome


def dechunk(body: bytes) -> bytes:
    """An HTTP/1.1 chunked body's content."""
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")
