"""The media routes' request bodies, read through ``bodies.read`` (``server.max_body_bytes``,
``server.body_timeout``) like the chat endpoint's, never an unbounded read.

A refused body (413, 408) is answered by ``bodies.refuse`` (with its lingering close), and a
client that left before its body was in gets no answer: ``Unread`` carries that response,
and the app's handler for it (``install``) sends it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import bodies, errors
from . import forms
from .service import MediaService


class Unread(Exception):
    """The body was not read; ``response`` is what the route answers instead."""

    def __init__(self, response: Response):
        super().__init__("request body not read")
        self.response = response


def install(app: FastAPI) -> None:
    async def answer(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unread)
        return exc.response

    app.add_exception_handler(Unread, answer)


async def form(request: Request, media: MediaService, *, json_ok: bool) -> forms.Form:
    """The request's form fields (multipart, or JSON when ``json_ok``), read within bounds."""
    raw = await read(request, media)
    return forms.parse(raw, request.headers.get("content-type", ""), json_ok=json_ok)


async def read(request: Request, media: MediaService) -> bytes:
    limits = bodies.Limits.from_settings(media.settings.current.server)
    try:
        return await bodies.read(scope=request.scope, receive=request.receive, limits=limits)
    except errors.BodyRefused as exc:
        raise Unread(_Refusal(exc, limits)) from None
    except ClientDisconnect:
        raise Unread(_Nothing()) from None


class _Refusal(Response):
    def __init__(self, exc: errors.BodyRefused, limits: bodies.Limits):
        self.status_code = exc.status
        self.background = None
        self._exc = exc
        self._limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await bodies.refuse(self._exc, scope=scope, receive=receive, send=send,
                            limits=self._limits)  # fmt: skip


class _Nothing(Response):
    """No answer: the client is gone (uvicorn sends nothing to a closed connection)."""

    def __init__(self) -> None:
        self.status_code = 499
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None
