"""Request bodies are bounded in size and in time, and refused before anything is leased.

The HTTP-level cases run against the gateway served by uvicorn and talk to it over a raw
socket where the point is what the server does before the client has sent everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from gateway import bodies, errors
from gateway_fakes import Gateway
from starlette.requests import ClientDisconnect

LIMIT = 4096
PATH = "/v1/chat/completions"


@pytest.fixture
def limited(gateway: Gateway) -> Gateway:
    gateway.live.apply({"server.max_body_bytes": LIMIT, "server.body_timeout": 1.5})
    return gateway


def chat_body(size: int) -> bytes:
    """A valid chat request of exactly ``size`` bytes (padded with JSON whitespace)."""
    body = json.dumps({"model": "grok-4", "stream": False,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def nothing_upstream(gateway: Gateway) -> bool:
    return gateway.pool.acquired == [] and gateway.grok.requests == []


async def connect(gateway: Gateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = gateway.base_url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


def head(*lines: str) -> bytes:
    return "\r\n".join([f"POST {PATH} HTTP/1.1", "Host: test",
                        "Content-Type: application/json", *lines, "", ""]).encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], Any]:
    status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, json.loads(body)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server ended the connection (EOF, or a reset after what we sent)."""
    try:
        return await reader.read() == b""
    except ConnectionResetError:
        return True


async def test_a_body_at_the_limit_is_accepted(limited: Gateway) -> None:
    async with httpx2.AsyncClient(base_url=limited.base_url) as http:
        answer = await http.post(PATH, content=chat_body(LIMIT))
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "Hello world"


async def test_a_body_one_byte_over_the_limit_is_413_and_never_reaches_the_pool(
    limited: Gateway,
) -> None:
    async with httpx2.AsyncClient(base_url=limited.base_url) as http:
        answer = await http.post(PATH, content=chat_body(LIMIT + 1))
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"
    assert answer.json() == {"error": {
        "message": f"The request body of {LIMIT + 1} bytes is larger than the limit of "
                   f"{LIMIT} bytes (server.max_body_bytes).",
        "type": "invalid_request_error", "param": None, "code": "request_too_large"}}
    assert nothing_upstream(limited)


async def test_a_declared_length_over_the_limit_is_answered_before_any_body_is_sent(
    limited: Gateway,
) -> None:
    reader, writer = await connect(limited)
    try:
        writer.write(head("Content-Length: 50000000"))  # and not one byte of the body
        status, headers, body = await read_response(reader)
        assert status == 413 and headers["connection"] == "close"
        assert body["error"]["code"] == "request_too_large"
        assert "50000000" in body["error"]["message"]
        assert await closed_by_server(reader)
    finally:
        writer.close()
    assert nothing_upstream(limited)


async def test_a_client_expecting_100_continue_gets_the_413_instead_and_the_close(
    limited: Gateway,
) -> None:
    reader, writer = await connect(limited)
    try:
        writer.write(head("Content-Length: 50000000", "Expect: 100-continue"))
        status, _headers, _body = await read_response(reader)
        assert status == 413  # no "100 Continue" first: the body is not wanted
        assert await closed_by_server(reader)
    finally:
        writer.close()


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    limited: Gateway,
) -> None:
    reader, writer = await connect(limited)
    try:
        writer.write(head("Transfer-Encoding: chunked"))
        chunk = b"x" * 1024
        for _ in range(LIMIT // len(chunk) + 1):  # past the limit, and never the last chunk
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        status, _headers, body = await read_response(reader)
        assert status == 413 and body["error"]["code"] == "request_too_large"
        assert await closed_by_server(reader)
    finally:
        writer.close()
    assert nothing_upstream(limited)


async def test_a_streamed_upload_over_the_limit_gets_the_413_rather_than_a_reset(
    limited: Gateway,
) -> None:
    async def upload() -> AsyncIterator[bytes]:
        for _ in range(64):  # 64 KiB in all, against a limit of 4 KiB
            yield b"x" * 1024

    async with httpx2.AsyncClient(base_url=limited.base_url) as http:
        answer = await http.post(PATH, content=upload())
    assert answer.status_code == 413
    assert nothing_upstream(limited)


@pytest.mark.parametrize("trickle", [True, False], ids=["trickling", "silent"])
async def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(
    limited: Gateway, trickle: bool,
) -> None:
    reader, writer = await connect(limited)

    async def send_slowly() -> None:
        while trickle:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.02)

    sender = asyncio.create_task(send_slowly())
    try:
        writer.write(head("Content-Length: 1000") + b'{"model": "grok-4",')
        status, headers, body = await read_response(reader)
        assert status == 408 and headers["connection"] == "close"
        assert body == {"error": {
            "message": "The request body did not arrive within 1.5 s (server.body_timeout).",
            "type": "invalid_request_error", "param": None, "code": "request_timeout"}}
        assert await closed_by_server(reader)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        writer.close()
    assert nothing_upstream(limited)


class CountingReceive:
    """An ASGI ``receive`` handing out ``chunks`` 1 KiB messages, counting those pulled."""

    def __init__(self, chunks: int):
        self.chunks = chunks
        self.pulled = 0

    async def __call__(self) -> dict[str, Any]:
        self.pulled += 1
        return {"type": "http.request", "body": b"x" * 1024,
                "more_body": self.pulled < self.chunks}


async def test_reading_stops_at_the_message_that_passes_the_limit() -> None:
    receive = CountingReceive(chunks=1000)
    with pytest.raises(errors.RequestTooLarge) as caught:
        await bodies.read(scope={"headers": []}, receive=receive,
                          limits=bodies.Limits(max_bytes=4096, timeout=5))
    assert receive.pulled == 5  # 4 KiB fit; the fifth message passes the limit
    assert caught.value.linger  # the client was still sending: drain before closing


async def test_a_body_of_several_messages_is_joined_whole() -> None:
    receive = CountingReceive(chunks=4)
    body = await bodies.read(scope={"headers": []}, receive=receive,
                             limits=bodies.Limits(max_bytes=4096, timeout=5))
    assert body == b"x" * 4096


async def test_a_client_gone_before_its_body_is_in_is_a_client_disconnect() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    with pytest.raises(ClientDisconnect):
        await bodies.read(scope={"headers": []}, receive=receive,
                          limits=bodies.Limits(max_bytes=4096, timeout=5))
