"""Responses whose work runs while the client connection is watched.

Both classes run the work (an SSE body iterator, or a coroutine producing one JSON body) in
a child task and watch the ASGI ``receive`` channel meanwhile: when the client disconnects
the work is cancelled at once, so the upstream call stops and the lease is released as
cancelled, even while the upstream is still thinking and nothing is being written.

``EventStream`` also sends ``: keep-alive`` comments after ``keepalive`` seconds without a
write. An exception from the body before anything was sent becomes a normal JSON error
response with its status; after that it becomes the stream's last event. Both go through
``errors.payload_for``, the one rendering rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import errors
from .chat import chunks

log = logging.getLogger(__name__)

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Channel:
    """The client side of one response: tracks whether the head went out and when."""

    def __init__(self, send: Send):
        self._send = send
        self.started = False
        self.ended = False
        self.last_write = time.monotonic()

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def write(self, body: bytes) -> None:
        self.last_write = time.monotonic()
        await self._send({"type": "http.response.body", "body": body, "more_body": True})

    async def end(self, body: bytes = b"") -> None:
        self.ended = True
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def json(self, status: int, body: bytes) -> None:
        headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await self.start(status, headers)
        await self.end(body)


class EventStream(Response):
    def __init__(self, body: AsyncIterator[bytes], *, keepalive: float):
        self.status_code = 200
        self.background = None
        self._body = body
        self._keepalive = keepalive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = _Channel(send)
        work = asyncio.create_task(self._pump(channel))
        await _watch(receive, work, idle=lambda: self._idle(channel), interval=self._keepalive)

    async def _pump(self, channel: _Channel) -> None:
        # One write per body chunk: the chat service yields one chunk per upstream read,
        # and the chunk that carries [DONE] also ends the response (one write less).
        try:
            async for chunk in self._body:
                if not channel.started:
                    await channel.start(200, _SSE_HEADERS)
                if chunk.endswith(chunks.DONE):
                    await channel.end(chunk)
                else:
                    await channel.write(chunk)
        except OSError:
            raise  # the client connection failed: nothing left to tell it
        except Exception as exc:
            status, body = errors.payload_for(exc)
            if not channel.started:
                await channel.json(status, orjson.dumps(body))
            elif not channel.ended:
                await channel.end(chunks.error_event(body))
            else:
                log.warning("error_after_stream_end error=%s", type(exc).__name__)
            return
        if not channel.started:
            await channel.start(200, _SSE_HEADERS)
        if not channel.ended:
            await channel.end()

    async def _idle(self, channel: _Channel) -> float:
        """Send a keep-alive comment if due; return seconds until the next check."""
        quiet = time.monotonic() - channel.last_write
        if channel.ended:
            return self._keepalive
        if quiet < self._keepalive:
            return self._keepalive - quiet
        if not channel.started:
            await channel.start(200, _SSE_HEADERS)
        await channel.write(chunks.KEEPALIVE)
        return self._keepalive


class DeferredJson(Response):
    """A JSON response computed by ``work``; returns (status, body bytes)."""

    def __init__(self, work: Callable[[], Awaitable[tuple[int, bytes]]]):
        self.status_code = 200
        self.background = None
        self._work = work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = _Channel(send)
        task = asyncio.create_task(self._pump(channel))
        await _watch(receive, task, idle=None, interval=None)

    async def _pump(self, channel: _Channel) -> None:
        try:
            status, body = await self._work()
        except Exception as exc:
            status, payload = errors.payload_for(exc)
            body = orjson.dumps(payload)
        await channel.json(status, body)


async def _watch(
    receive: Receive,
    work: asyncio.Task[None],
    *,
    idle: Callable[[], Awaitable[float]] | None,
    interval: float | None,
) -> None:
    """Wait for ``work``; cancel it when the client disconnects (or this task is cancelled)."""
    listener: asyncio.Future[Any] = asyncio.ensure_future(receive())
    timeout = interval
    try:
        while True:
            done, _ = await asyncio.wait(
                (work, listener), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if work in done:
                break
            if listener in done:
                if listener.result().get("type") == "http.disconnect":
                    log.info("client_disconnected")
                    await _cancel(work)
                    return
                listener = asyncio.ensure_future(receive())
            elif idle is not None:
                timeout = await idle()
    except BaseException:
        await _cancel(work)
        raise
    finally:
        listener.cancel()
    try:
        work.result()
    except OSError:
        log.debug("client_gone_while_writing")


async def _cancel(work: asyncio.Task[None]) -> None:
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
