"""Helpers every handler uses: the state, reading and recording a request, JSON answers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from .. import responses
from ..state import SimState


def sim_state(connection: HTTPConnection) -> SimState:
    state: SimState = connection.app.state.sim
    return state


async def read_recorded(request: Request) -> bytes:
    """The request body, after recording the request for later assertions."""
    body = await request.body()
    sim_state(request).recorder.record(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers=request.headers,
        body=body,
        content_type=request.headers.get("content-type", ""),
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
