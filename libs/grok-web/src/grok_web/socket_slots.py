"""Upstream WebSockets under the connection cap.

A live WebSocket holds one curl handle and one connection for its whole life. The transport
counts them so an egress never holds more than ``network.max_connections``:
:class:`SocketSlots` makes an opener wait for a free slot (as HTTP transfers wait for a
pooled connection; :mod:`connection_cap` counts and logs the waits), and
:class:`UpstreamSocket` gives its slot back exactly once, when the socket is terminated.
"""

from __future__ import annotations

import asyncio

from grok2api_telemetry import tracing

from grok_web import errors
from grok_web.connection_cap import ConnectionCap
from grok_web.curl_ws import CurlWebSocket


class UpstreamSocket:
    """An open upstream WebSocket; ``terminate()`` (always called last) frees its slot."""

    __slots__ = ("_release", "_span", "_ws")

    def __init__(
        self, ws: CurlWebSocket, release: ConnectionCap, *, span: tracing.Span | None = None
    ) -> None:
        self._ws = ws
        self._release: ConnectionCap | None = release
        self._span = span  # the socket's client span (tracing on), ended by terminate()

    async def send_str(self, payload: str) -> None:
        await self._ws.send_str(payload)

    async def recv(self, timeout: float | None = None) -> tuple[bytes, int]:  # noqa: ASYNC109
        # the socket's own per-receive timeout: it raises WebSocketTimeout, which callers read
        return await self._ws.recv(timeout=timeout)

    async def close(self, *, timeout: float = 3.0) -> None:  # noqa: ASYNC109
        """Send a close frame and wait up to ``timeout`` for it to go out."""
        await self._ws.close(timeout=timeout)

    def terminate(self) -> None:
        self._ws.terminate()
        slots, self._release = self._release, None
        if slots is not None:
            slots.release()
        span, self._span = self._span, None
        if span is not None:
            span.end()


class SocketSlots:
    """At most ``limit`` upstream WebSockets open at once through one egress (its name, for
    the wait log)."""

    def __init__(self, limit: int, *, egress: str = "default") -> None:
        self.limit = limit
        self._cap = ConnectionCap(limit, kind="websocket", egress=egress)

    async def take(self, *, wait: float) -> ConnectionCap:
        """Wait up to ``wait`` seconds for a slot (counted and logged as a wait when none
        is free at once); the cap to release it to."""
        try:
            async with asyncio.timeout(wait):
                await self._cap.acquire()
        except TimeoutError:
            raise errors.UpstreamUnavailable(
                f"all {self.limit} upstream WebSocket slots (network.max_connections) stayed "
                f"busy for {wait:g} s; raise network.max_connections or add replicas"
            ) from None
        return self._cap
