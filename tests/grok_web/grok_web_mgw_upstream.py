"""An in-test mgw upstream (the simulator does not speak mgw yet): a `websockets` server on
port 0 serving `GET /api/auth/session` (counted) and `/ws/mgw/` with a scripted turn, or
refusing the upgrade with a chosen status, headers and body."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

DATA = Path(__file__).parent / "data" / "mgw"
USER_ID = "497f19f8-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

Script = Callable[["Turn"], Awaitable[None]]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


@dataclasses.dataclass
class Turn:
    """One accepted mgw connection as the script sees it."""

    conn: ServerConnection
    received: list[dict[str, Any]]

    async def expect(self, kind: str, *, wait: float = 5.0) -> dict[str, Any]:
        """The next client message (heartbeats recorded and skipped unless asked for)."""
        while True:
            raw = await asyncio.wait_for(self.conn.recv(), wait)
            message = json.loads(raw)
            self.received.append(message)
            if message["event"]["type"] == kind:
                return message
            if message["event"]["type"] != "ping":
                raise AssertionError(f"expected {kind}, got {message['event']['type']}")

    async def send(self, *frames: dict[str, Any]) -> None:
        for frame in frames:
            await self.conn.send(json.dumps(frame))

    async def handshake(self, frames: list[dict[str, Any]]) -> str:
        """Answer session.create with ``frames`` (``{{client_event_id}}`` filled in)."""
        create = await self.expect("session.create")
        event_id = create["event"]["event_id"]
        text = json.dumps(frames).replace("{{client_event_id}}", event_id)
        await self.send(*json.loads(text))
        return event_id


@dataclasses.dataclass
class Upstream:
    base_url: str = ""
    session_hits: int = 0
    session_body: dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"session": {"userId": USER_ID, "email": "a@example.com"}}
    )
    session_headers: list[Headers] = dataclasses.field(default_factory=list)
    script: Script | None = None
    refuse: tuple[int, list[tuple[str, str]], bytes] | None = None
    requests: list[Request] = dataclasses.field(default_factory=list)
    turns: list[Turn] = dataclasses.field(default_factory=list)
    closed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def play(self, name: str, *, after_response: Script | None = None) -> dict[str, Any]:
        """Serve the fixture ``name``: handshake, then (after response.create) the response
        frames, then wait for the client to close."""
        data = fixture(name)

        async def script(turn: Turn) -> None:
            await turn.handshake(data["handshake"])
            await turn.expect("conversation.item.create")
            await turn.expect("response.create")
            await turn.send(*data["response"])
            if after_response is not None:
                await after_response(turn)

        self.script = script
        return data


async def _run(script: Script | None, turn: Turn) -> None:
    if script is not None:
        with contextlib.suppress(ConnectionClosed):
            await script(turn)


def _response(status: int, headers: list[tuple[str, str]], body: bytes) -> Response:
    reason = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests",
              503: "Service Unavailable"}.get(status, "Error")  # fmt: skip
    all_headers = Headers(headers)
    all_headers["Content-Length"] = str(len(body))
    return Response(status, reason, all_headers, body)


async def start() -> AsyncIterator[Upstream]:
    state = Upstream()

    def process_request(conn: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/api/auth/session"):
            state.session_hits += 1
            state.session_headers.append(request.headers)
            body = json.dumps(state.session_body).encode()
            return _response(200, [("Content-Type", "application/json")], body)
        state.requests.append(request)
        if state.refuse is not None:
            status, headers, body = state.refuse
            return _response(status, headers, body)
        return None

    async def handler(conn: ServerConnection) -> None:
        turn = Turn(conn=conn, received=[])
        state.turns.append(turn)
        script = asyncio.create_task(_run(state.script, turn))
        try:
            await conn.wait_closed()  # the client went away (or the script closed)
        finally:
            state.closed.set()
            if not script.done():
                script.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await script

    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        state.base_url = f"http://127.0.0.1:{port}"
        yield state
