"""The reusable-handle engine under the transport: heads, bodies, redirects, aborts, limits.

A raw asyncio HTTP/1.1 server on loopback answers by path, so each test controls exactly
what goes over the wire (interim heads, repeated headers, a body that never ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
from curl_cffi import CurlError
from grok_web.curl_engine import Engine

pytestmark = pytest.mark.asyncio


def _answer(status: str, headers: list[str], body: bytes) -> bytes:
    head = [f"HTTP/1.1 {status}", *headers, f"content-length: {len(body)}", "", ""]
    return "\r\n".join(head).encode() + body


class _Server:
    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                path = head.split(b" ")[1].decode()
                if not await self.route(path, body, writer):
                    return
                await writer.drain()
        writer.close()

    async def route(self, path: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if path == "/echo":
            writer.write(_answer("200 OK", ["x-twice: a", "X-Twice: b"], body))
        elif path == "/interim":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            writer.write(_answer("201 Created", ["content-type: text/plain"], b"made"))
        elif path == "/moved":
            writer.write(_answer("302 Found", ["location: /echo"], b""))
        elif path == "/endless":
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            writer.write(b"5\r\nfirst\r\n")
            await writer.drain()
            await asyncio.sleep(3600)
        return True


@pytest.fixture
async def server() -> AsyncIterator[_Server]:
    state = _Server()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield state
        listener.close()


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    built = Engine(browser="chrome136", proxy=None, max_handles=2, accept_encoding="gzip")
    yield built
    await built.aclose()


async def _fetch(engine: Engine, url: str, **kwargs: object) -> tuple[int, dict[str, str], bytes]:
    options = {"headers": {}, "body": None, "time_limit": 5.0, "idle_limit": None}
    options.update(kwargs)
    transfer = await engine.start(
        str(options.pop("method", "GET")), url, follow_redirects=bool(options.pop("follow", False)),
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
    try:
        body = await transfer.body()
    finally:
        engine.finish(transfer)
    return transfer.status, transfer.headers, body


async def test_posts_the_body_and_reads_status_headers_and_body(
    engine: Engine, server: _Server
) -> None:
    status, headers, body = await _fetch(
        engine, f"http://127.0.0.1:{server.port}/echo", method="POST",
        headers={"Content-Type": "application/json", "X-Empty": ""}, body=b'{"a":1}',
    )  # fmt: skip
    assert (status, body) == (200, b'{"a":1}')
    assert headers.get("X-TWICE") == "a, b"  # case-insensitive, repeated headers joined
    sent = server.requests[0].lower()
    assert sent.startswith(b"post /echo http/1.1")  # cleartext stays HTTP/1.1, no h2c
    assert b"x-empty:" in sent and b"expect:" not in sent and b"upgrade" not in sent


async def test_a_reused_handle_forgets_the_previous_method_and_body(
    engine: Engine, server: _Server
) -> None:
    url = f"http://127.0.0.1:{server.port}/echo"
    await _fetch(engine, url, method="POST", body=b"payload")
    await _fetch(engine, url, method="DELETE")
    await _fetch(engine, url)
    methods = [r.split(b" ")[0] for r in server.requests]
    assert methods == [b"POST", b"DELETE", b"GET"]
    assert server.requests[2].endswith(b"\r\n\r\n")  # no stale body on the GET
    assert server.connections == 1  # one kept-alive connection for all three


async def test_options_that_change_between_requests_on_one_handle_take_effect(
    engine: Engine, server: _Server
) -> None:
    # The engine skips re-setting options a handle already holds: changes must still land.
    url = f"http://127.0.0.1:{server.port}"
    statuses = [
        (await _fetch(engine, f"{url}/moved", follow=follow))[0] for follow in (False, True, False)
    ]
    assert statuses == [302, 200, 302]
    for method, body in (("POST", b"a"), ("GET", None), ("PUT", b"b"), ("POST", b"c"),
                         ("GET", None)):  # fmt: skip
        await _fetch(engine, f"{url}/echo", method=method, body=body)
    sent = [(r.split(b" ")[0], r.split(b"\r\n\r\n", 1)[1]) for r in server.requests[-5:]]
    assert sent == [(b"POST", b"a"), (b"GET", b""), (b"PUT", b"b"), (b"POST", b"c"),
                    (b"GET", b"")]  # fmt: skip


async def test_interim_heads_are_skipped(engine: Engine, server: _Server) -> None:
    status, headers, body = await _fetch(engine, f"http://127.0.0.1:{server.port}/interim")
    assert (status, headers.get("content-type"), body) == (201, "text/plain", b"made")


async def test_redirects_are_followed_only_when_asked(engine: Engine, server: _Server) -> None:
    url = f"http://127.0.0.1:{server.port}/moved"
    status, headers, _ = await _fetch(engine, url)
    assert (status, headers.get("location")) == (302, "/echo")
    status, _, _ = await _fetch(engine, url, follow=True)
    assert status == 200


async def test_an_aborted_stream_frees_its_slot_and_the_next_call_works(
    engine: Engine, server: _Server
) -> None:
    url = f"http://127.0.0.1:{server.port}"
    for _ in range(3):  # more aborts than slots: a leaked slot would hang the third
        transfer = await engine.start(
            "GET", f"{url}/endless", headers={}, body=None, time_limit=5.0, idle_limit=30.0,
            follow_redirects=False,
        )  # fmt: skip
        await transfer.head()
        assert await transfer.next_chunk() == b"first"
        engine.finish(transfer)
        engine.finish(transfer)  # idempotent
    status, _, body = await asyncio.wait_for(_fetch(engine, f"{url}/echo"), 10)
    assert (status, body) == (200, b"")


async def test_transfers_beyond_the_cap_wait_for_a_free_handle(
    engine: Engine, server: _Server
) -> None:
    url = f"http://127.0.0.1:{server.port}"
    opened = [
        await engine.start("GET", f"{url}/endless", headers={}, body=None, time_limit=5.0,
                           idle_limit=30.0, follow_redirects=False)
        for _ in range(2)
    ]  # fmt: skip
    third = asyncio.ensure_future(_fetch(engine, f"{url}/echo"))
    await asyncio.sleep(0.2)
    assert not third.done()
    engine.finish(opened[0])
    assert (await asyncio.wait_for(third, 10))[0] == 200
    engine.finish(opened[1])


async def test_a_refused_connection_raises_curl_error(engine: Engine) -> None:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CurlError):
        await _fetch(engine, f"http://127.0.0.1:{port}/")


async def test_a_silent_stream_times_out_and_the_handle_is_reusable(
    engine: Engine, server: _Server
) -> None:
    url = f"http://127.0.0.1:{server.port}"
    transfer = await engine.start(
        "GET", f"{url}/endless", headers={}, body=None, time_limit=5.0, idle_limit=30.0,
        follow_redirects=False,
    )  # fmt: skip
    try:
        assert await transfer.next_chunk(5.0) == b"first"
        with pytest.raises(TimeoutError):
            await transfer.next_chunk(0.2)
    finally:
        engine.finish(transfer)
    assert (await _fetch(engine, f"{url}/echo"))[0] == 200
