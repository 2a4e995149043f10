"""Slow-loris request heads: every HTTP server of grok2api (runtime.serve_http) bounds the
time a request line and its headers may take."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from grok2api_cli import runtime
from grok2api_settings.sections import ServerSettings
from starlette.types import Receive, Scope, Send

HEAD_TIMEOUT = 1.0


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[int]:
    port = _free_port()
    server = ServerSettings(host="127.0.0.1", port=port, header_timeout=HEAD_TIMEOUT)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.serve_http(ok_app, server=server, stop=stop))
    for _ in range(200):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        stop.set()
        await task


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection; a server that holds the
    connection open fails the test (after far longer than the deadline)."""
    return await asyncio.wait_for(reader.read(), timeout=30)


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _read_all(reader) == b""
        writer.close()


async def test_headers_trickling_past_the_deadline_get_408_and_a_closed_connection() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        answer = await _read_all(reader)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in answer
        writer.close()


async def test_prompt_requests_are_answered_and_a_kept_alive_connection_is_held_to_it_too() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        first = await reader.readuntil(b"0\r\n\r\n")  # the end of the chunked answer
        assert first.startswith(b"HTTP/1.1 200 ")
        writer.write(b"GET / HTTP/1.1\r\n")  # the next request's head never completes
        await writer.drain()
        assert (await _read_all(reader)).startswith(b"HTTP/1.1 408 ")
        writer.close()
