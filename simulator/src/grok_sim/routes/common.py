"""Helpers every handler uses: the state, reading and recording a request, JSON answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from .. import responses
from ..errors import RequestRejected
from ..state import SimState


def sim_state(connection: HTTPConnection) -> SimState:
    state: SimState = connection.app.state.sim
    return state


def headers_of(connection: HTTPConnection) -> dict[str, str]:
    """The request headers as a plain dict with lower-case names (computed once).

    Starlette's `Headers` scans a list on every lookup; admission looks up a dozen names.
    """
    cached: dict[str, str] | None = connection.scope.get("grok_sim.headers")
    if cached is None:
        cached = {}
        for raw_name, raw_value in connection.scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name in cached:
                # Repeated Cookie headers are one cookie list (RFC 6265 §5.4), others a list.
                value = f"{cached[name]}{'; ' if name == 'cookie' else ', '}{value}"
            cached[name] = value
        connection.scope["grok_sim.headers"] = cached
    return cached


async def read_recorded(request: Request) -> bytes:
    """The request body, after recording the request for later assertions."""
    body = await request.body()
    headers = headers_of(request)
    sim_state(request).recorder.record(
        method=request.method,
        path=request.scope["path"],
        query=request.scope["query_string"].decode("latin-1"),
        headers=headers,
        body=body,
        content_type=headers.get("content-type", ""),
        client=request.client.host if request.client else "",
    )
    return body


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError as error:
        raise responses.bad_request(f"body is not valid JSON: {error}") from error


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json",
                    headers=headers)


_A = TypeVar("_A")


async def accept_websocket(
    websocket: WebSocket, *, path: str, admit: Callable[[SimState, WebSocket], _A]
) -> _A | None:
    """Record the handshake, run ``admit``; refuse the upgrade with its ``RequestRejected``
    answer (None), or accept the socket and return what ``admit`` gave."""
    state = sim_state(websocket)
    state.recorder.record(method="GET", path=path, query=websocket.url.query,
                          headers=headers_of(websocket), body=None,
                          client=websocket.client.host if websocket.client else "")
    try:
        admitted = admit(state, websocket)
    except RequestRejected as rejected:
        await websocket.send_denial_response(Response(
            rejected.body, status_code=rejected.status, media_type=rejected.content_type,
            headers=rejected.headers,
        ))
        return None
    await websocket.accept()
    return admitted
