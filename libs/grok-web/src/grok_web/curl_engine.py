"""Upstream HTTP transfers on reusable curl handles.

curl_cffi's ``AsyncSession`` resets and re-configures a handle for every request (browser
fingerprint, TLS, cookie engine, some fifty options) and rebuilds the response in Python;
measured here, that was half of the gateway's CPU per chat call. An :class:`Engine`
configures each easy handle once (fingerprint, proxy, CA bundle, encodings) and sets only
what differs per request: URL, method, headers, body, timeouts and the two callbacks.
Connections live in the multi handle's cache, so any handle reuses any idle connection.
The event-loop integration is curl_cffi's own ``AsyncCurl``.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from curl_cffi import AsyncCurl, Curl, CurlError, CurlHttpVersion, CurlMime, CurlOpt, ffi
from curl_cffi.requests.impersonate import resolve_latest_browser_type

from grok_web.connection_cap import ConnectionCap

_NO_EXPECT = b"Expect:"  # never wait for "100 Continue" before sending a body


@dataclasses.dataclass(frozen=True, slots=True)
class FormPart:
    """One part of a multipart/form-data body: a text field, or a file when ``filename``
    is set (``content_type`` then becomes the part's Content-Type)."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


class Headers(dict[str, str]):
    """Response headers by lower-case name (repeated headers joined with ``, ``)."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


class Transfer:
    """One request in flight: its head once it arrives, then its body chunks."""

    def __init__(self, curl: Curl, *, follow_redirects: bool) -> None:
        self.curl = curl
        self.status = 0
        self.headers = Headers()
        self._follow = follow_redirects
        self._chunks: collections.deque[bytes] = collections.deque()
        self._head_seen = False
        self._waiter: asyncio.Future[None] | None = None
        self.done: asyncio.Future[None] | None = None
        self.form: CurlMime | None = None  # a multipart body, freed when the transfer ends

    # -- curl callbacks (run inside socket_action, on the event loop thread) --

    def on_header(self, line: bytes) -> int:
        if line.startswith(b"HTTP/"):
            parts = line.split(b" ", 2)
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.headers = Headers()
        elif line in (b"\r\n", b"\n"):
            interim = 100 <= self.status < 200
            redirected = self._follow and 300 <= self.status < 400 and "location" in self.headers
            if not (interim or redirected):
                self._head_seen = True
                self._wake()
        else:
            name, _, value = line.partition(b":")
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            previous = self.headers.get(key)
            self.headers[key] = text if previous is None else f"{previous}, {text}"
        return len(line)

    def on_body(self, data: bytes) -> int:
        self._chunks.append(data)
        self._wake()
        return len(data)

    def on_done(self, _: asyncio.Future[None]) -> None:
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- consumer side --

    async def _wait(self, limit: float | None = None) -> None:
        """Until a callback wakes us; TimeoutError after ``limit`` seconds. (One timer
        per actual wait: cheaper than ``asyncio.timeout`` around every chunk.)"""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if limit is None else loop.call_later(limit, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    @property
    def finished(self) -> bool:
        return self.done is not None and self.done.done()

    def _raise_if_failed(self) -> None:
        assert self.done is not None
        if self.done.cancelled():
            raise CurlError("transfer aborted")
        exc = self.done.exception()
        if exc is not None:
            raise exc

    async def head(self) -> None:
        """Wait for the final response head (raises ``CurlError`` if the transfer fails)."""
        while not self._head_seen:
            if self.finished:
                self._raise_if_failed()
                return  # finished without a blank line (no body, HTTP/0.9-style)
            await self._wait()

    async def next_chunk(self, idle_timeout: float | None = None) -> bytes | None:
        """The body received since the last call (joined), or None at the end; raises
        TimeoutError when nothing arrives for ``idle_timeout`` seconds."""
        while True:
            if self._chunks:
                if len(self._chunks) == 1:
                    return self._chunks.popleft()
                data = b"".join(self._chunks)
                self._chunks.clear()
                return data
            if self.finished:
                self._raise_if_failed()
                return None
            await self._wait(idle_timeout)

    async def body(self) -> bytes:
        """The whole body, once the transfer has finished."""
        while not self.finished:
            await self._wait()
        self._raise_if_failed()
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Engine:
    """Easy handles for one egress (browser fingerprint + proxy), at most ``max_handles``
    transfers at once (a start beyond waits, counted and logged under the egress's name
    ``egress``); build inside the event loop, :meth:`aclose` once."""

    def __init__(
        self,
        *,
        browser: str,
        proxy: str | None,
        max_handles: int,
        accept_encoding: str,
        ca_bundle: str = "",
        egress: str = "default",
    ) -> None:
        self._browser = resolve_latest_browser_type(browser)
        self._proxy = proxy or ""
        self._ca_bundle = ca_bundle
        self._accept_encoding = accept_encoding.encode()
        self._multi = AsyncCurl()
        self._idle: list[Curl] = []
        # Options that stay put on a handle between requests, as last set: most requests
        # repeat them, and each curl_cffi setopt costs microseconds of Python.
        self._applied: dict[Curl, dict[CurlOpt, Any]] = {}
        self._slots = ConnectionCap(max_handles, kind="http", egress=egress)
        self._running: set[Transfer] = set()

    def _handle(self) -> Curl:
        if self._idle:
            return self._idle.pop()
        curl = Curl()
        if curl.impersonate(self._browser, default_headers=False) != 0:
            raise CurlError(f"cannot impersonate {self._browser!r}")
        # HTTP/2 where TLS offers it (as browsers do), plain HTTP/1.1 on cleartext URLs
        # (no h2c upgrade, which no browser sends and some servers mishandle).
        curl.setopt(CurlOpt.HTTP_VERSION, CurlHttpVersion.V2TLS)
        curl.setopt(CurlOpt.PROXY, self._proxy)  # "" also ignores *_proxy variables
        curl.setopt(CurlOpt.NOPROXY, "")
        curl.setopt(CurlOpt.NOSIGNAL, 1)
        curl.setopt(CurlOpt.MAXREDIRS, 10)
        curl.setopt(CurlOpt.ACCEPT_ENCODING, self._accept_encoding)
        trust(curl, self._ca_bundle)
        self._applied[curl] = {}
        return curl

    async def start(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        time_limit: float,
        idle_limit: float | None,
        follow_redirects: bool,
        form: Sequence[FormPart] = (),
    ) -> Transfer:
        """Begin a transfer. ``idle_limit`` None bounds the whole transfer by ``time_limit``;
        otherwise ``time_limit`` bounds the connect and curl drops the transfer after
        ``idle_limit`` seconds without a byte. ``form`` sends a multipart/form-data body
        instead of ``body`` (curl writes the Content-Type with its boundary; a caller's
        Content-Type header is dropped). :meth:`finish` it exactly once."""
        await self._slots.acquire()
        try:
            curl = self._handle()
            transfer = Transfer(curl, follow_redirects=follow_redirects)
            applied = self._applied[curl]
            _configure(curl, applied, transfer, method, url, headers, body, multipart=bool(form))
            if form:
                transfer.form = _attach_form(curl, form)
            _set(curl, applied, CurlOpt.FOLLOWLOCATION, int(follow_redirects))
            _set(curl, applied, CurlOpt.CONNECTTIMEOUT_MS, int(time_limit * 1000))
            if idle_limit is None:
                _set(curl, applied, CurlOpt.TIMEOUT_MS, int(time_limit * 1000))
                _set(curl, applied, CurlOpt.LOW_SPEED_TIME, 0)
            else:
                _set(curl, applied, CurlOpt.TIMEOUT_MS, 0)
                _set(curl, applied, CurlOpt.LOW_SPEED_LIMIT, 1)
                _set(curl, applied, CurlOpt.LOW_SPEED_TIME, max(1, int(idle_limit)))
            transfer.done = self._multi.add_handle(curl)
        except BaseException:
            self._slots.release()
            raise
        transfer.done.add_done_callback(transfer.on_done)
        self._running.add(transfer)
        return transfer

    def finish(self, transfer: Transfer) -> None:
        """Abort the transfer if it still runs, and put its handle back (idempotent)."""
        if transfer not in self._running:
            return
        self._running.discard(transfer)
        curl = transfer.curl
        if not transfer.finished:
            # curl closes that connection rather than draining it
            self._multi.remove_handle(curl)
        curl.clean_handles_and_buffers()
        if transfer.form is not None:
            # curl unbinds a freed form from the handle; the next request's POSTFIELDS or
            # HTTPGET switches the handle out of multipart mode
            transfer.form.close()
            transfer.form = None
        self._idle.append(curl)
        self._slots.release()

    async def aclose(self) -> None:
        for transfer in list(self._running):
            self.finish(transfer)
        await self._multi.close()
        for curl in self._idle:
            curl.close()
        self._idle.clear()
        self._applied.clear()


def trust(curl: Curl, ca_bundle: str) -> None:
    """Verify servers (and HTTPS proxies) against ``ca_bundle``, or curl_cffi's bundled
    certificates when it is ""."""
    if not ca_bundle:
        curl._ensure_cacert()
        return
    curl.setopt(CurlOpt.CAINFO, ca_bundle)
    curl.setopt(CurlOpt.PROXY_CAINFO, ca_bundle)


def _set(curl: Curl, applied: dict[CurlOpt, Any], option: CurlOpt, value: Any) -> None:
    if applied.get(option, _UNSET) != value:
        curl.setopt(option, value)
        applied[option] = value


_UNSET = object()


def _configure(
    curl: Curl,
    applied: dict[CurlOpt, Any],
    transfer: Transfer,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    multipart: bool = False,
) -> None:
    _set(curl, applied, CurlOpt.URL, url.encode())
    # HTTPGET, POSTFIELDS and MIMEPOST switch the request mode: always set, never skipped.
    if multipart:
        plain = method == "POST"  # the caller attaches the form (MIMEPOST) next
    elif body is None:
        curl.setopt(CurlOpt.HTTPGET, 1)
        plain = method == "GET"
    else:
        curl.setopt(CurlOpt.POSTFIELDS, body)
        curl.setopt(CurlOpt.POSTFIELDSIZE, len(body))
        plain = method == "POST"
    _set(curl, applied, CurlOpt.CUSTOMREQUEST, ffi.NULL if plain else method.encode())
    lines = [(f"{k}: {v}" if v else f"{k};").encode() for k, v in headers.items()]
    lines.append(_NO_EXPECT)
    curl.setopt(CurlOpt.HTTPHEADER, lines)
    curl.setopt(CurlOpt.HEADERFUNCTION, transfer.on_header)
    curl.setopt(CurlOpt.WRITEFUNCTION, transfer.on_body)


def _attach_form(curl: Curl, parts: Sequence[FormPart]) -> CurlMime:
    form = CurlMime(curl)
    try:
        for part in parts:
            form.addpart(
                part.name, data=part.data, filename=part.filename, content_type=part.content_type
            )
        form.attach(curl)
    except BaseException:
        form.close()
        raise
    return form
