"""Helpers for grok_web tests: client options for a loopback upstream, stream
collection, and a tiny raw HTTP/1.1 server for transport behaviours."""

from __future__ import annotations

import asyncio
import dataclasses

from grok_web import options as options_mod


@dataclasses.dataclass
class RawServer:
    """A loopback TCP server running ``handler`` per connection; ``closed`` is set
    when a connection's peer went away (EOF or reset)."""

    base_url: str
    closed: asyncio.Event
    connections: int = 0


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one HTTP/1.1 request head and its Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head + body


def chunk(data: bytes) -> bytes:
    """One HTTP chunked-encoding chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def make_options(
    base_url: str, *, chat_protocol: options_mod.ChatProtocol | None = None, **timeouts: float
) -> options_mod.ClientOptions:
    """Options pointing every endpoint at ``base_url``; chat speaks ``chat_protocol``
    (the client's default generation when None)."""
    protocol = chat_protocol or options_mod.ClientOptions().chat_protocol
    return options_mod.ClientOptions(
        chat_protocol=protocol,
        endpoints=options_mod.Endpoints(
            base_url=base_url, assets_url=base_url, accounts_url=base_url
        ),
        timeouts=options_mod.Timeouts(**timeouts) if timeouts else options_mod.Timeouts(),
        limits=options_mod.Limits(max_connections=16),
        imagine=options_mod.ImagineOptions(blocked_seconds=2.0),
    )


async def collect(stream) -> list:
    """Every event of a stream (the stream is closed afterwards)."""
    return [event async for event in stream]
