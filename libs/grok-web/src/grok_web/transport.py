"""HTTP and WebSocket transport: long-lived curl handles with bounded pools.

One :class:`Transport` per process owns two :class:`curl_engine.Engine` objects (grok.com /
accounts.x.ai through ``base_proxy_url``; assets through ``asset_proxy_url``), each capped
at ``limits.max_connections`` transfers, and a :class:`curl_ws.Opener` for WebSockets (as
many open at once, :mod:`socket_slots`: an opener waits for a free one). A call that has to
wait for a slot is counted and logged (:mod:`connection_cap`). No
cookies are kept between calls: every request carries its own account's cookie header.

Non-2xx answers and transport exceptions are turned into :mod:`grok_web.errors`
via :mod:`grok_web.translate`, the cause chained. Streams are closed promptly when
the consumer stops (generator closed, task cancelled): the curl transfer is
aborted rather than drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from curl_cffi import CurlError

from grok_web import curl_engine, curl_ws, errors, lazy_buffers, spans, translate
from grok_web import headers as headers_mod
from grok_web import options as options_mod
from grok_web.socket_slots import SocketSlots, UpstreamSocket

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """A buffered answer."""

    status_code: int
    headers: curl_engine.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class StreamResponse:
    """An open streamed response; iterate :meth:`chunks`. Closed by the transport."""

    def __init__(
        self,
        *,
        transfer: curl_engine.Transfer,
        secrets: tuple[str, ...],
        first_byte: float | None = None,
    ) -> None:
        self.status = transfer.status
        self.headers = transfer.headers
        self._transfer = transfer
        self._secrets = secrets
        self._first_byte = first_byte

    async def chunks(self, *, idle_timeout: float) -> AsyncIterator[bytes]:
        """Body chunks; raises :class:`errors.StreamIdleTimeout` after ``idle_timeout``
        seconds without a byte (:class:`errors.FirstByteTimeout` when the first one is
        later than the stream's ``first_byte`` limit), :class:`errors.UpstreamUnavailable`
        on transport errors."""
        transfer = self._transfer
        first_byte, self._first_byte = self._first_byte, None
        waiting_first = first_byte is not None and first_byte < idle_timeout
        while True:
            try:
                chunk = await transfer.next_chunk(first_byte if waiting_first else idle_timeout)
            except TimeoutError as exc:
                if waiting_first:
                    raise errors.FirstByteTimeout(
                        f"upstream sent no byte within {first_byte:g}s"
                    ) from exc
                raise errors.StreamIdleTimeout(
                    f"upstream stream idle for more than {idle_timeout:g}s"
                ) from exc
            except CurlError as exc:
                raise translate.from_transport(exc, secrets=self._secrets) from exc
            waiting_first = False
            if chunk is None:
                return
            yield chunk


class Transport:
    """Owns the upstream handles; build once, :meth:`aclose` once."""

    def __init__(self, *, options: options_mod.ClientOptions) -> None:
        lazy_buffers.map_large_blocks()  # curl's zeroed buffers: only the pages used stay resident
        self._options = options
        self._egress_secrets = _egress_secrets(options.egress)
        self._engines: dict[str, curl_engine.Engine] = {}
        self._ws_opener: curl_ws.Opener | None = None
        self._ws_slots: SocketSlots | None = None
        self._closed = False

    def retune(self, *, options: options_mod.ClientOptions) -> None:
        """Adopt new timeouts/limits read per call; the handles (egress, pool size, trust)
        stay as built, so :func:`same_handles` must hold."""
        if not same_handles(options, self._options):
            raise errors.UsageError("egress, pool or trust changes need a new Transport")
        self._options = options

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has begun (no new calls)."""
        return self._closed

    @property
    def egress(self) -> options_mod.Egress:
        """The way out every connection of this transport takes."""
        return self._options.egress

    def _engine(self, *, asset: bool) -> curl_engine.Engine:
        if self._closed:
            raise errors.UsageError("GrokClient is closed")
        egress = self._options.egress
        proxy = (
            (egress.asset_proxy_url or egress.base_proxy_url) if asset else egress.base_proxy_url
        )
        key = "asset" if asset and proxy != egress.base_proxy_url else "base"
        engine = self._engines.get(key)
        if engine is None:
            engine = curl_engine.Engine(
                browser=egress.browser,
                proxy=proxy,
                max_handles=self._options.limits.max_connections,
                accept_encoding=headers_mod.ACCEPT_ENCODING,
                ca_bundle=self._options.ca_bundle,
                egress=egress.label,
            )
            self._engines[key] = engine
        return engine

    async def aclose(self) -> None:
        """Close every handle and session (idempotent)."""
        self._closed = True
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            with contextlib.suppress(Exception):
                await engine.aclose()
        if self._ws_opener is not None:
            opener, self._ws_opener = self._ws_opener, None
            with contextlib.suppress(Exception):
                await opener.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        content: bytes | None = None,
        form: Sequence[curl_engine.FormPart] = (),
        params: dict[str, str] | None = None,
        secrets: Iterable[str] = (),
        asset: bool = False,
        ok_statuses: tuple[int, ...] = (),
    ) -> Reply:
        """A buffered request; returns the answer on 2xx (or ``ok_statuses``). The body is
        ``json`` (encoded), raw ``content`` or a multipart ``form``."""
        secrets = (*secrets, *self._egress_secrets)
        body = orjson.dumps(json) if json is not None else content
        span = spans.start(method, url)
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        try:
            reply = await self._buffered(method, url, headers=headers, body=body, form=form,
                                         secrets=secrets, asset=asset)
        except BaseException as exc:
            spans.end(span, exc)
            raise
        status = reply.status_code
        spans.answered(span, status)
        if 200 <= status < 300 or status in ok_statuses:
            spans.end(span)
            return reply
        error = _logged(
            translate.from_status(
                status=status,
                body=reply.content[: self._options.limits.max_error_body],
                content_type=reply.headers.get("content-type") or "",
                retry_after=reply.headers.get("retry-after"),
                secrets=secrets,
            ),
            url=url,
            egress=self._options.egress,
        )
        spans.end(span, error)
        raise error

    async def _buffered(
        self, method: str, url: str, *, headers: dict[str, str], body: bytes | None,
        form: Sequence[curl_engine.FormPart], secrets: tuple[str, ...], asset: bool,
    ) -> Reply:
        engine = self._engine(asset=asset)
        transfer = await engine.start(
            method, url, headers=headers, body=body, time_limit=self._options.timeouts.request,
            idle_limit=None, follow_redirects=False, form=form,
        )  # fmt: skip
        try:
            data = await transfer.body()
        except CurlError as exc:
            raise translate.from_transport(exc, secrets=secrets) from exc
        finally:
            engine.finish(transfer)
        return Reply(status_code=transfer.status, headers=transfer.headers, content=data)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        secrets: Iterable[str] = (),
        asset: bool = False,
        follow_redirects: bool = False,
        first_byte: float | None = None,
    ) -> AsyncIterator[StreamResponse]:
        """Open a streamed request; yields once the status is 2xx. The transfer is
        aborted when the block exits, whatever the reason. ``first_byte`` bounds the wait
        for the headers and for the first body byte (``errors.FirstByteTimeout``)."""
        secrets = (*secrets, *self._egress_secrets)
        timeouts = self._options.timeouts
        head_limit = timeouts.request
        if first_byte is not None and first_byte < head_limit:
            head_limit = first_byte
        engine = self._engine(asset=asset)
        body = orjson.dumps(json) if json is not None else None
        span = spans.start(method, url)
        failure: BaseException | None = None
        try:
            transfer = await engine.start(
                method, url, headers=headers, body=body, time_limit=timeouts.request,
                # curl's own low-speed cut is a backstop behind our idle timeout
                idle_limit=max(timeouts.stream_idle, timeouts.video_idle),
                follow_redirects=follow_redirects,
            )  # fmt: skip
        except BaseException as exc:
            spans.end(span, exc)
            raise
        try:
            try:
                async with asyncio.timeout(head_limit):
                    await transfer.head()
            except CurlError as exc:
                raise translate.from_transport(exc, secrets=secrets) from exc
            except TimeoutError as exc:
                if head_limit < timeouts.request:
                    raise errors.FirstByteTimeout(
                        f"upstream sent no response headers within {head_limit:g}s"
                    ) from exc
                raise errors.UpstreamUnavailable(
                    f"upstream sent no response headers within {timeouts.request:g}s"
                ) from exc
            handle = StreamResponse(transfer=transfer, secrets=secrets, first_byte=first_byte)
            spans.answered(span, handle.status)
            if not 200 <= handle.status < 300:
                raise _logged(
                    await self._stream_error(handle, secrets=secrets),
                    url=url,
                    egress=self._options.egress,
                )
            yield handle
        except BaseException as exc:
            failure = exc
            raise
        finally:
            engine.finish(transfer)
            spans.end(span, failure)

    async def _stream_error(
        self, handle: StreamResponse, *, secrets: tuple[str, ...]
    ) -> errors.UpstreamError:
        limit = self._options.limits.max_error_body
        parts: list[bytes] = []
        size = 0
        with contextlib.suppress(errors.GrokWebError):
            async for chunk in handle.chunks(idle_timeout=self._options.timeouts.request):
                parts.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
        return translate.from_status(
            status=handle.status,
            body=b"".join(parts)[:limit],
            content_type=handle.headers.get("content-type") or "",
            retry_after=handle.headers.get("retry-after"),
            secrets=secrets,
        )

    async def websocket(
        self, url: str, *, headers: dict[str, str], secrets: Iterable[str] = ()
    ) -> UpstreamSocket:
        """Open a WebSocket (the wait for a free slot and the handshake each bounded by the
        request timeout); the caller must ``terminate()`` it. A refused upgrade is
        classified from its status and response headers (curl keeps no body)."""
        if self._closed:
            raise errors.UsageError("GrokClient is closed")
        if self._ws_slots is None:
            self._ws_slots = SocketSlots(
                self._options.limits.max_connections, egress=self._options.egress.label
            )
        span = spans.start("GET", url, websocket=True)
        try:
            slot = await self._ws_slots.take(wait=self._options.timeouts.request)
        except BaseException as exc:
            spans.end(span, exc)
            raise
        try:
            ws = await self._open_websocket(url, headers=headers, secrets=secrets)
        except BaseException as exc:
            slot.release()
            spans.end(span, exc)
            raise
        spans.answered(span, 101)
        return UpstreamSocket(ws, slot, span=span)

    async def _open_websocket(
        self, url: str, *, headers: dict[str, str], secrets: Iterable[str]
    ) -> curl_ws.CurlWebSocket:
        if self._ws_opener is None:
            egress = self._options.egress
            self._ws_opener = curl_ws.Opener(
                browser=egress.browser,
                proxy=egress.base_proxy_url,
                ca_bundle=self._options.ca_bundle,
            )
        answer = _HandshakeHeaders()
        try:
            return await self._ws_opener.connect(
                url, headers=headers, timeout=self._options.timeouts.request,
                on_header=answer.line,
            )  # fmt: skip
        except CurlError as exc:
            error = translate.from_ws_handshake(
                exc, headers=answer.fields, secrets=(*secrets, *self._egress_secrets)
            )
            raise _logged(error, url=url, egress=self._options.egress) from exc


class _HandshakeHeaders:
    """The response headers of a WebSocket upgrade (curl's header callback, run on curl's
    worker thread); only the last response's, names lower-cased."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def line(self, raw: bytes) -> int:
        text = bytes(raw).decode("latin-1").strip()
        if text.startswith("HTTP/"):
            self.fields = {}  # a new response (after a 1xx or a redirect)
        elif ":" in text:
            name, _, value = text.partition(":")
            self.fields[name.strip().lower()] = value.strip()
        return len(raw)


def _egress_secrets(egress: options_mod.Egress) -> tuple[str, ...]:
    """What error texts must never show of an egress: its proxy URLs (longest first), their
    user:password and host:port parts (curl names the proxy in its messages; the log names
    the egress instead) and its clearance cookie values."""
    urls = sorted({egress.base_proxy_url, egress.asset_proxy_url} - {""}, key=len, reverse=True)
    found: list[str] = list(urls)
    for url in urls:
        userinfo, _, address = urlsplit(url).netloc.rpartition("@")
        found += [part for part in (userinfo, address, address.rpartition(":")[0]) if part]
    for pair in egress.clearance().split(";"):
        value = pair.partition("=")[2].strip()
        if len(value) >= 8:  # a short value would scrub unrelated text
            found.append(value)
    return tuple(found)


def same_handles(a: options_mod.ClientOptions, b: options_mod.ClientOptions) -> bool:
    """Whether two option sets can share curl handles (same egress, pool size, trust)."""
    return (a.egress, a.limits, a.ca_bundle) == (b.egress, b.limits, b.ca_bundle)


def _logged(
    error: errors.UpstreamError, *, url: str, egress: options_mod.Egress
) -> errors.UpstreamError:
    """Log a classified upstream answer (type, status, path, the egress's name: never
    headers, bodies or proxy addresses)."""
    log.info(
        "upstream_error kind=%s blame=%s status=%s path=%s egress=%s",
        type(error).__name__,
        error.blame,
        error.status,
        urlsplit(url).path,
        egress.label,
    )
    return error
