"""Fixtures for grok_web tests: a client bound to the simulator, and a tiny raw
HTTP server for transport behaviours the simulator is not needed for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import grok_web_mgw_upstream as mgw_upstream
import pytest
from grok_web import client as client_mod
from grok_web.options import ChatProtocol
from grok_web_helpers import RawServer, make_options
from grok_web_mgw_upstream import Upstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[asyncio.AbstractServer] = []

    async def start(handler: Handler) -> RawServer:
        closed = asyncio.Event()
        state = RawServer(base_url="", closed=closed)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            state.connections += 1
            try:
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                closed.set()
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        state.base_url = f"http://127.0.0.1:{port}"
        return state

    yield start
    for server in servers:
        server.close()


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[..., client_mod.GrokClient]]:
    """Factory for GrokClients that are closed after the test."""
    made: list[client_mod.GrokClient] = []

    def build(
        base_url: str, *, chat_protocol: ChatProtocol | None = None, **timeouts: float
    ) -> client_mod.GrokClient:
        options = make_options(base_url, chat_protocol=chat_protocol, **timeouts)
        client = client_mod.GrokClient(options=options)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


@pytest.fixture
async def grok(sim, client_for) -> client_mod.GrokClient:
    """A GrokClient whose every endpoint is the simulator (chat on the default generation)."""
    return client_for(sim.base_url)


@pytest.fixture(params=["mgw", "rest"])
async def chat_grok(request, sim, client_for) -> client_mod.GrokClient:
    """The same, once per chat generation: chat behaviour must not depend on it."""
    return client_for(sim.base_url, chat_protocol=request.param)


@pytest.fixture
async def rest_grok(sim, client_for) -> client_mod.GrokClient:
    """Chat over REST app-chat, for the tests of that generation's request bodies."""
    return client_for(sim.base_url, chat_protocol="rest")


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """An in-test mgw upstream replaying recorded frame sequences (grok_web_mgw_upstream)."""
    async for state in mgw_upstream.start():
        yield state


@pytest.fixture
async def mgw_grok(upstream: Upstream) -> AsyncIterator[client_mod.GrokClient]:
    """A GrokClient speaking mgw chat to that upstream."""
    options = make_options(upstream.base_url, chat_protocol="mgw")
    async with client_mod.GrokClient(options=options) as client:
        yield client
