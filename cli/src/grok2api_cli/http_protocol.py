"""uvicorn's HTTP/1.1 protocol with a deadline on every request head (slow-loris headers).

uvicorn times out only an idle keep-alive connection: a client that connects and sends
nothing, or trickles its request line and headers a byte at a time, holds the connection
(and a file descriptor) for as long as it likes. Here each request's head must be complete
within ``head_timeout`` seconds of the connection opening or of its first byte on a
kept-alive connection; a late one is answered 408 (or just closed, when not a byte of it
came) and its connection closed. Bodies have their own deadline (``gateway.bodies``).
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEAD_TIMEOUT = 20.0
_TIMED_OUT_BODY = b"the request line and headers did not arrive in time\n"
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMED_OUT_BODY), _TIMED_OUT_BODY)
)


class HeadDeadlineProtocol(HttpToolsProtocol):
    head_timeout: ClassVar[float] = DEFAULT_HEAD_TIMEOUT
    """Seconds a request head may take (``server.header_timeout``)."""

    _head_timer: asyncio.TimerHandle | None = None
    _head_begun = False  # a byte of the pending request head arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # A later request on a kept-alive connection whose head is still incomplete once
        # these bytes are parsed; most heads arrive whole and never need a timer.
        if self._head_begun and self._head_timer is None and not self.transport.is_closing():
            self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True

    def on_headers_complete(self) -> None:
        self._disarm()
        self._head_begun = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expired(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_begun:
            self.transport.write(_TIMED_OUT)
        self.transport.close()


def with_head_timeout(seconds: float) -> type[HeadDeadlineProtocol]:
    """The protocol class for one server, its head deadline set."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"head_timeout": seconds})
