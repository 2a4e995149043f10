"""Responses whose work runs while the client connection is watched.

Both classes run the work (an SSE body iterator, or a coroutine producing one JSON body) in
the request's own task while a listener task waits on the ASGI ``receive`` channel: when the
client disconnects the work is cancelled at once, so the upstream call stops and the lease
is released as cancelled, even while the upstream is still thinking and nothing is written.

``EventStream`` also sends a keep-alive after ``keepalive`` seconds without a write (a
``: keep-alive`` comment in OpenAI's streams, a ``ping`` event in Anthropic's). An
exception from the body before anything was sent becomes a normal JSON error response with
its status; after that it becomes the stream's last event. Both go through the
``Dialect``'s rendering rule: ``errors.payload_for`` (OpenAI's shape) by default, or
the Anthropic shape on ``/v1/messages``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import orjson
from grok2api_telemetry import context
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from . import errors, http_metrics
from .access.caller import Caller
from .access.guard import Guard
from .access.meter import Meter
from .chat import chunks

log = logging.getLogger(__name__)

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_JSON_HEADERS = [(b"content-type", b"application/json")]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dialect:
    """How one API family frames a stream and renders errors."""

    payload_for: Callable[[BaseException], tuple[int, dict[str, Any]]]
    """Status and error body for any exception."""
    error_event: Callable[[dict[str, Any]], bytes]
    """The SSE event that ends a stream with an error body."""
    keepalive: bytes
    """What is written after ``keepalive`` seconds without a write."""
    done: bytes
    """The suffix of the chunk that ends a stream (that write also ends the response)."""


OPENAI = Dialect(
    payload_for=errors.payload_for,
    error_event=chunks.error_event,
    keepalive=chunks.KEEPALIVE,
    done=chunks.DONE,
)


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
    def __init__(
        self, body: AsyncIterator[bytes], *, keepalive: float, dialect: Dialect = OPENAI
    ):
        self.status_code = 200
        self.background = None
        self._body = body
        self._keepalive = keepalive
        self._dialect = dialect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel = _Channel(send)
        keepalive = _KeepAlive(channel, interval=self._keepalive, beat=self._dialect.keepalive)
        try:
            await _watched(receive, self._pump(channel))
        finally:
            keepalive.stop()

    async def _pump(self, channel: _Channel) -> None:
        # One write per body chunk: the chat service yields one chunk per upstream read,
        # and the chunk that carries [DONE] also ends the response (one write less).
        try:
            async for chunk in self._body:
                if not channel.started:
                    await channel.start(200, _SSE_HEADERS)
                if chunk.endswith(self._dialect.done):
                    await channel.end(chunk)
                else:
                    await channel.write(chunk)
        except OSError:
            raise  # the client connection failed: nothing left to tell it
        except Exception as exc:
            status, body = self._dialect.payload_for(exc)
            if not channel.started:
                await channel.json(status, orjson.dumps(body))
            elif not channel.ended:
                http_metrics.note_status(status)  # the head said 200; the answer failed
                await channel.end(self._dialect.error_event(body))
            else:
                log.warning("error_after_stream_end error=%s", type(exc).__name__)
            return
        if not channel.started:
            await channel.start(200, _SSE_HEADERS)
        if not channel.ended:
            await channel.end()


class _KeepAlive:
    """Writes ``beat`` whenever ``interval`` seconds pass without a write. A
    timer, not a task: most streams end before it is ever due."""

    def __init__(self, channel: _Channel, *, interval: float, beat: bytes = chunks.KEEPALIVE):
        self._channel = channel
        self._interval = interval
        self._beat_bytes = beat
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(interval, self._due)
        self._beat: asyncio.Task[None] | None = None

    def _due(self) -> None:
        quiet = time.monotonic() - self._channel.last_write
        if quiet < self._interval:
            self._timer = self._loop.call_later(self._interval - quiet, self._due)
        else:
            self._timer = None
            self._beat = self._loop.create_task(self._write())

    async def _write(self) -> None:
        channel = self._channel
        if channel.ended:
            return
        try:
            if not channel.started:
                await channel.start(200, _SSE_HEADERS)
            await channel.write(self._beat_bytes)
        except OSError:
            return  # the client is gone: the response finds out on its next write
        self._timer = self._loop.call_later(self._interval, self._due)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._beat is not None:
            self._beat.cancel()


class Metered(Response):
    """Sends ``inner``, then closes ``meter`` however that ended: a response sent whole
    tells the meter its status; one cut short (the client left) leaves it to the meter."""

    def __init__(self, inner: Response, meter: Meter):
        self.status_code = inner.status_code
        self.background = None
        self._inner = inner
        self._meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._meter.answered(status)

        try:
            await self._inner(scope, receive, watch)
        finally:
            await self._meter.close()


async def metered(
    guard: Guard,
    caller: Caller,
    *,
    endpoint: str,
    answer: Callable[[Meter], Awaitable[Response]],
) -> Response:
    """``answer(meter)`` (which admits the request once it knows the model), sent through
    ``Metered``; a failure before there is a response is recorded and re-raised."""
    meter = guard.start(caller, endpoint=endpoint, request_id=context.request_id.get())
    try:
        response = await answer(meter)
    except Exception as exc:
        await meter.abort(exc)
        raise
    return Metered(response, meter)


class DeferredJson(Response):
    """A JSON response computed by ``work``; returns (status, body bytes)."""

    def __init__(
        self, work: Callable[[], Awaitable[tuple[int, bytes]]], *, dialect: Dialect = OPENAI
    ):
        self.status_code = 200
        self.background = None
        self._work = work
        self._dialect = dialect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _watched(receive, self._pump(_Channel(send)))

    async def _pump(self, channel: _Channel) -> None:
        try:
            status, body = await self._work()
        except Exception as exc:
            status, payload = self._dialect.payload_for(exc)
            body = orjson.dumps(payload)
        await channel.json(status, body)


async def _watched(receive: Receive, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` in this task; a client disconnect cancels it at once. ASGI reports a
    disconnect only to a ``receive`` call, so a listener task waits in one meanwhile
    (cheaper than running the work in a task of its own and waiting for either)."""
    task = asyncio.current_task()
    assert task is not None
    listener = asyncio.get_running_loop().create_task(_cancel_on_disconnect(receive, task))
    try:
        await work
    except asyncio.CancelledError:
        if not (listener.done() and not listener.cancelled() and listener.result()):
            raise  # cancelled from elsewhere (shutdown): not ours to swallow
        task.uncancel()
        http_metrics.note_status(http_metrics.CLIENT_CLOSED)
        log.info("client_disconnected")
    except OSError:
        log.debug("client_gone_while_writing")
    finally:
        listener.cancel()


async def _cancel_on_disconnect(receive: Receive, task: asyncio.Task[Any]) -> bool:
    """Cancel ``task`` when the client disconnects; True if it did."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception as exc:  # a broken channel is the server's to report, not ours
        log.debug("receive_failed error=%s", type(exc).__name__)
        return False
    task.cancel()
    return True
