"""Upstream WebSockets on plain curl handles, driven from the event loop.

curl_cffi's ``AsyncSession.ws_connect`` builds a new handle per socket through its generic
request path (some fifty options set in Python), runs the upgrade on a worker thread
(every curl call of the process then contends for the GIL with it), and its
``AsyncWebSocket`` runs a reader and a writer task with two queues per socket: measured on
the mgw chat path (a socket per turn) that was most of the turn's CPU. :class:`Opener`
configures a template handle once (browser fingerprint, proxy, CA bundle) and duplicates
it per socket; the upgrade runs on one multi handle driven by the event loop;
:class:`CurlWebSocket` receives and sends in the calling task (a frame already buffered
costs no wait; otherwise one reader callback per wait).

What is reused and what is not: a WebSocket takes its connection for its whole life and
libcurl never reuses a connect-only connection (nor could it: the upgrade made it a socket
of its own, and the close handshake ends it), so every socket is a new TCP connection and
HTTP/1.1 upgrade. What is shared is the multi handle's: its TLS session cache (a wss
connection resumes an earlier one's session; curl_cffi's ``ws_connect`` made a full TLS
handshake every time, each socket on a handle and implicit multi of its own) and its DNS
cache. A finished upgrade stays in the multi while its socket lives (removed, a
connect-only transfer loses its connection) and leaves it with reuse forbidden, which
closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from curl_cffi import (
    AsyncCurl,
    Curl,
    CurlECode,
    CurlError,
    CurlInfo,
    CurlOpt,
    CurlWsFlag,
)
from curl_cffi._wrapper import ffi, lib
from curl_cffi.requests.impersonate import resolve_latest_browser_type
from curl_cffi.requests.websockets import WebSocketClosed, WebSocketTimeout

from grok_web import curl_engine

MAX_FRAME = 65536  # larger messages go out as continuation frames, as curl_cffi sends them
MAX_MESSAGE = 16 * 1024 * 1024  # protocol §6.1: max frame 16 MiB
_AGAIN = int(CurlECode.AGAIN)
_GOT_NOTHING = int(CurlECode.GOT_NOTHING)
_TEXT = int(CurlWsFlag.TEXT)
_CONT = int(CurlWsFlag.CONT)
_CLOSE = int(CurlWsFlag.CLOSE)
_DATA = int(CurlWsFlag.TEXT | CurlWsFlag.BINARY | CurlWsFlag.CONT)
_NORMAL_CLOSE = (1000).to_bytes(2, "big")


class _SocketMulti(AsyncCurl):
    """curl_cffi's loop-driven multi handle, except that a finished transfer (an upgrade
    done) stays in the multi: :meth:`CurlWebSocket.terminate` removes it."""

    def _pop_future(self, curl: Curl) -> Any:
        self._curl2curl.pop(curl._curl, None)
        return self._curl2future.pop(curl, None)

    def drop(self, curl: Curl) -> None:
        """Take ``curl`` out of the multi, closing its connection, and free it."""
        self._curl2curl.pop(curl._curl, None)
        future = self._curl2future.pop(curl, None)
        if future is not None and not future.done():
            future.cancel()
        if self._curlm and curl._curl is not None:
            curl.setopt(CurlOpt.FORBID_REUSE, 1)  # removal then closes the connection
            lib.curl_multi_remove_handle(self._curlm, curl._curl)
        _free(curl)


class Opener:
    """Opens WebSockets for one egress (browser fingerprint + proxy); build inside the
    event loop, :meth:`aclose` once."""

    def __init__(self, *, browser: str, proxy: str | None, ca_bundle: str = "") -> None:
        template = Curl()
        if template.impersonate(resolve_latest_browser_type(browser), default_headers=False):
            raise CurlError(f"cannot impersonate {browser!r}")
        template.setopt(CurlOpt.PROXY, proxy or "")  # "" also ignores *_proxy variables
        template.setopt(CurlOpt.NOPROXY, "")
        template.setopt(CurlOpt.NOSIGNAL, 1)
        template.setopt(CurlOpt.TCP_NODELAY, 1)
        template.setopt(CurlOpt.FOLLOWLOCATION, 0)
        # what curl_cffi's ws_connect sent before this module replaced it
        template.setopt(CurlOpt.ACCEPT_ENCODING, b"gzip, deflate, br")
        template.setopt(CurlOpt.CONNECT_ONLY, 2)  # the upgrade, then the socket is ours
        template.setopt(CurlOpt.FRESH_CONNECT, 1)
        curl_engine.trust(template, ca_bundle)
        self._template = template
        self._timeout_ms = 0
        self._multi = _SocketMulti()

    def _handle(self, timeout_ms: int) -> Curl:
        if timeout_ms != self._timeout_ms:
            self._template.setopt(CurlOpt.TIMEOUT_MS, timeout_ms)
            self._timeout_ms = timeout_ms
        curl = self._template.duphandle()  # every option of the template, CA bundle included
        curl._is_cert_set = True
        curl._ws_recv_buffer = _recv_buffer()
        return curl

    async def connect(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109
        on_header: Callable[[bytes], int],
    ) -> CurlWebSocket:
        """Connect and upgrade (bounded by ``timeout``); raises ``CurlError`` as curl does
        (a refused upgrade is code 22 with the status in its message)."""
        curl = self._handle(max(1, int(timeout * 1000)))
        try:
            curl.setopt(CurlOpt.URL, url.encode())
            curl.setopt(CurlOpt.HTTPHEADER, [f"{k}: {v}".encode() for k, v in headers.items()])
            curl.setopt(CurlOpt.HEADERFUNCTION, on_header)
        except BaseException:
            _free(curl)
            raise
        multi = self._multi
        try:
            await multi.add_handle(curl)
            fd = int(curl.getinfo(CurlInfo.ACTIVESOCKET))  # type: ignore[arg-type]
            if fd < 0:
                raise CurlError("WebSocket upgrade left no socket")
        except BaseException:
            multi.drop(curl)  # failed or cancelled: abort the upgrade
            raise
        return CurlWebSocket(curl, fd, multi)

    async def aclose(self) -> None:
        await self._multi.close()
        self._template.close()


_RECV_BUFFER: list[Any] = []


def _recv_buffer() -> Any:
    """curl_cffi's receive buffer (128 kB, zeroed) is allocated per handle; the sockets of
    this module share one: every receive runs on the event loop thread and copies out."""
    if not _RECV_BUFFER:
        _RECV_BUFFER.append(ffi.new("char[]", Curl._WS_RECV_BUFFER_SIZE))
    return _RECV_BUFFER[0]


def _free(curl: Curl) -> None:
    curl._ws_recv_buffer = None  # shared: Curl.close() would release it
    curl.close()


class CurlWebSocket:
    """One upgraded connection. Not safe for two concurrent receivers; ``terminate()``
    (idempotent) closes the connection at once and is always called last."""

    __slots__ = ("_closed", "_curl", "_fd", "_loop", "_multi", "_peer_closed", "_waiter")

    def __init__(self, curl: Curl, fd: int, multi: _SocketMulti) -> None:
        self._curl: Curl | None = curl
        self._fd = fd
        self._multi = multi
        self._loop = asyncio.get_running_loop()
        self._closed = False  # we sent a close frame or terminated
        self._peer_closed = False  # the peer's close frame was handed to recv
        self._waiter: asyncio.Future[None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed or self._curl is None

    def _live(self) -> Curl:
        curl = self._curl
        if curl is None:
            raise WebSocketClosed("WebSocket terminated")
        return curl

    async def _wait(self, *, write: bool, timeout: float | None) -> None:  # noqa: ASYNC109
        """Until the socket is readable (writable); WebSocketTimeout after ``timeout``."""
        loop, fd = self._loop, self._fd
        waiter = self._waiter = loop.create_future()
        if write:
            loop.add_writer(fd, _wake, waiter)
        else:
            loop.add_reader(fd, _wake, waiter)
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
            if self._curl is not None:  # terminate() already dropped the watch
                if write:
                    loop.remove_writer(fd)
                else:
                    loop.remove_reader(fd)

    async def recv(self, *, timeout: float | None = None) -> tuple[bytes, int]:  # noqa: ASYNC109
        """The next whole message and its curl flags (TEXT, BINARY, or CLOSE for the peer's
        close frame, once); pings are answered by curl and skipped. Raises
        ``WebSocketTimeout`` when nothing arrives within ``timeout`` seconds,
        ``WebSocketClosed`` after the close or at EOF, ``CurlError`` on transport errors."""
        if self._peer_closed:
            raise WebSocketClosed("WebSocket closed by the peer")
        deadline = None if timeout is None else self._loop.time() + timeout
        parts: list[bytes] = []
        size = 0
        while True:
            curl = self._live()
            try:
                chunk, frame = curl.ws_recv()
            except CurlError as exc:
                code = exc.code
                if code == _AGAIN:
                    left = None if deadline is None else deadline - self._loop.time()
                    if left is not None and left <= 0:
                        raise WebSocketTimeout("WebSocket recv timed out") from None
                    await self._wait(write=False, timeout=left)
                    continue
                if code == _GOT_NOTHING:
                    self._peer_closed = True
                    raise WebSocketClosed("WebSocket connection closed by the peer (EOF)") from exc
                raise
            flags = int(frame.flags)
            if not flags & (_DATA | _CLOSE):
                continue  # ping or pong: curl answers pings itself
            size += len(chunk)
            if size > MAX_MESSAGE:
                raise CurlError(f"WebSocket message larger than {MAX_MESSAGE} bytes")
            parts.append(chunk)
            if frame.bytesleft or flags & _CONT:
                continue  # more of this frame, or more frames of this message
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            if flags & _CLOSE:
                self._peer_closed = True
                with contextlib.suppress(CurlError):  # answer the close, best effort
                    if not self._closed:
                        self._closed = True
                        curl.ws_send(data[:2] or _NORMAL_CLOSE, _CLOSE)
            return data, flags

    async def send_str(self, payload: str) -> None:
        await self.send(payload.encode(), _TEXT)

    async def send(self, payload: bytes, flags: int, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """One message (as continuation frames past :data:`MAX_FRAME` bytes)."""
        if self._closed:
            raise WebSocketClosed("WebSocket closed")
        view = memoryview(payload)
        total = len(view)
        offset = end = 0
        frame_flags = flags
        deadline = None if timeout is None else self._loop.time() + timeout
        while True:
            if offset == end:  # a resumed write must be the rest of the open frame
                if total - offset > MAX_FRAME:
                    end, frame_flags = offset + MAX_FRAME, flags | _CONT
                else:
                    end, frame_flags = total, flags
            try:
                sent = self._live().ws_send(view[offset:end], frame_flags)
            except CurlError as exc:
                if exc.code != _AGAIN:
                    raise
                sent = 0
            offset += sent
            if offset >= total:
                return
            if not sent:
                left = None if deadline is None else deadline - self._loop.time()
                if left is not None and left <= 0:
                    raise WebSocketTimeout("WebSocket send timed out")
                await self._wait(write=True, timeout=left)

    async def close(self, *, timeout: float = 3.0) -> None:  # noqa: ASYNC109
        """Send a close frame (code 1000), waiting up to ``timeout`` for it to go out;
        the connection stays until :meth:`terminate`."""
        if self._closed or self._curl is None:
            return
        try:
            await self.send(_NORMAL_CLOSE, _CLOSE, timeout=timeout)
        finally:
            self._closed = True

    def terminate(self) -> None:
        """Close the connection now (idempotent); a pending wait raises WebSocketClosed."""
        curl, self._curl = self._curl, None
        self._closed = True
        if curl is None:
            return
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._fd)
        with contextlib.suppress(Exception):
            self._loop.remove_writer(self._fd)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(WebSocketClosed("WebSocket terminated"))
        self._multi.drop(curl)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(WebSocketTimeout("WebSocket timed out"))


__all__ = ["MAX_FRAME", "CurlWebSocket", "Opener", "WebSocketClosed", "WebSocketTimeout"]
