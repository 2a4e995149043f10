"""grok_web.curl_ws: the WebSocket the mgw and Imagine turns run on (a `websockets` server
on port 0): whole messages both ways past one frame, the peer's close handed over once,
receive deadlines, terminate closing the connection at once, no descriptor left behind,
and a refused upgrade raised as curl raises it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from curl_cffi import CurlError, CurlWsFlag
from grok_web import curl_ws
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

Handler = Callable[[ServerConnection], Awaitable[None]]


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers = []

    async def start(handler: Handler) -> str:
        def refuse(connection: ServerConnection, request: object) -> Response | None:
            if getattr(request, "path", "").startswith("/refuse"):
                return connection.respond(403, "no\n")
            return None

        srv = await serve(handler, "127.0.0.1", 0, max_size=None, process_request=refuse)
        servers.append(srv)
        port = next(iter(srv.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    yield start
    for srv in servers:
        srv.close()
        await srv.wait_closed()


@pytest.fixture
async def opener() -> AsyncIterator[curl_ws.Opener]:
    made = curl_ws.Opener(browser="chrome", proxy=None)
    yield made
    await made.aclose()


async def _connect(opener: curl_ws.Opener, url: str) -> curl_ws.CurlWebSocket:
    return await opener.connect(url, headers={"Origin": "http://x"}, timeout=5,
                                on_header=lambda line: len(line))  # fmt: skip


async def test_large_messages_cross_whole_both_ways(server, opener) -> None:
    async def echo(conn: ServerConnection) -> None:
        async for message in conn:
            await conn.send(message)

    ws = await _connect(opener, await server(echo))
    try:
        big = "x" * (3 * curl_ws.MAX_FRAME + 17)
        await ws.send_str(big)
        payload, flags = await ws.recv(timeout=5)
        assert payload == big.encode() and flags & CurlWsFlag.TEXT
        await ws.send_str("small")
        assert (await ws.recv(timeout=5))[0] == b"small"
    finally:
        ws.terminate()


async def test_peer_close_is_handed_over_once_then_closed(server, opener) -> None:
    async def close_at_once(conn: ServerConnection) -> None:
        await conn.send('{"hello": 1}')
        await conn.close(code=4001, reason="bye")

    ws = await _connect(opener, await server(close_at_once))
    try:
        assert (await ws.recv(timeout=5))[0] == b'{"hello": 1}'
        payload, flags = await ws.recv(timeout=5)
        assert flags & CurlWsFlag.CLOSE and int.from_bytes(payload[:2], "big") == 4001
        with pytest.raises(curl_ws.WebSocketClosed):
            await ws.recv(timeout=5)
    finally:
        ws.terminate()


async def test_receive_deadline_and_terminate_drop_the_connection(server, opener) -> None:
    gone = asyncio.Event()

    async def silent(conn: ServerConnection) -> None:
        try:
            await conn.recv()
        except ConnectionClosed:
            gone.set()

    ws = await _connect(opener, await server(silent))
    with pytest.raises(curl_ws.WebSocketTimeout):
        await ws.recv(timeout=0.05)
    ws.terminate()
    ws.terminate()  # idempotent
    await asyncio.wait_for(gone.wait(), 5)  # the server saw the connection end
    with pytest.raises(curl_ws.WebSocketClosed):
        await ws.recv(timeout=1)


async def test_many_sockets_in_turn_leave_no_descriptor(server, opener) -> None:
    async def greet(conn: ServerConnection) -> None:
        await conn.send("hi")
        with pytest.raises(ConnectionClosed):
            await conn.recv()

    url = await server(greet)
    (await _connect(opener, url)).terminate()  # warm: the multi handle's own descriptors
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        ws = await _connect(opener, url)
        assert (await ws.recv(timeout=5))[0] == b"hi"
        await ws.close(timeout=1)
        ws.terminate()
    assert len(os.listdir("/proc/self/fd")) <= fds + 1


async def test_a_refused_upgrade_raises_curl_error_with_the_status(server, opener) -> None:
    async def never(conn: ServerConnection) -> None:  # pragma: no cover - refused first
        await conn.close()

    url = await server(never)
    with pytest.raises(CurlError, match="403"):
        await _connect(opener, f"{url}/refuse")
