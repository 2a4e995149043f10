"""HTTP and WebSocket transport: long-lived curl_cffi sessions with bounded pools.

One :class:`Transport` per process owns two ``AsyncSession`` objects (grok.com /
accounts.x.ai through ``base_proxy_url``; assets through ``asset_proxy_url``), each
capped at ``limits.max_connections`` curl handles. Sessions never keep cookies
between calls: every request carries its own account's cookie header.

Non-2xx answers and transport exceptions are turned into :mod:`grok_web.errors`
via :mod:`grok_web.translate`, the cause chained. Streams are closed promptly when
the consumer stops (generator closed, task cancelled): the curl transfer is
aborted rather than drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import orjson
from curl_cffi import CurlError
from curl_cffi.requests import AsyncSession, Response
from curl_cffi.requests.websockets import AsyncWebSocket

from grok_web import errors, translate
from grok_web import headers as headers_mod
from grok_web import options as options_mod

log = logging.getLogger(__name__)


class StreamResponse:
    """An open streamed response; iterate :meth:`chunks`. Closed by the transport."""

    def __init__(self, *, response: Response, secrets: tuple[str, ...]) -> None:
        self.response = response
        self.status = response.status_code
        self._secrets = secrets
        self._iterator: Any = None

    async def chunks(self, *, idle_timeout: float) -> AsyncIterator[bytes]:
        """Body chunks; raises :class:`errors.StreamIdleTimeout` after ``idle_timeout``
        seconds without a byte, :class:`errors.UpstreamUnavailable` on transport errors."""
        iterator = self._iterator = self.response.aiter_content()
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    chunk = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise errors.StreamIdleTimeout(
                    f"upstream stream idle for more than {idle_timeout:g}s"
                ) from exc
            except CurlError as exc:
                raise translate.from_transport(exc, secrets=self._secrets) from exc
            yield chunk

    async def aclose(self) -> None:
        """Abort the transfer if it is still running and return the curl handle."""
        task = _abort(self.response)
        if task is not None:
            await asyncio.wait([task])
        if self._iterator is not None:
            with contextlib.suppress(Exception):
                await self._iterator.aclose()


class Transport:
    """Owns the upstream sessions; build once, :meth:`aclose` once."""

    def __init__(self, *, options: options_mod.ClientOptions) -> None:
        self._options = options
        self._sessions: dict[str, AsyncSession[Response]] = {}
        self._closed = False

    def retune(self, *, options: options_mod.ClientOptions) -> None:
        """Adopt new timeouts/limits read per call; the sessions (egress, pool size)
        stay as built, so ``options.egress`` and ``options.limits`` must not differ."""
        if (options.egress, options.limits) != (self._options.egress, self._options.limits):
            raise errors.UsageError("egress or pool changes need a new Transport")
        self._options = options

    def _session(self, *, asset: bool) -> AsyncSession[Response]:
        if self._closed:
            raise errors.UsageError("GrokClient is closed")
        egress = self._options.egress
        proxy = (
            (egress.asset_proxy_url or egress.base_proxy_url) if asset else egress.base_proxy_url
        )
        key = "asset" if asset and proxy != egress.base_proxy_url else "base"
        session = self._sessions.get(key)
        if session is None:
            session = AsyncSession(
                max_clients=self._options.limits.max_connections,
                impersonate=egress.browser,  # type: ignore[arg-type]
                proxy=proxy or None,
                trust_env=False,
                discard_cookies=True,
                allow_redirects=False,
                # The TLS/HTTP2 fingerprint is impersonated, but the header set is
                # entirely ours (per endpoint): no navigation headers on JSON calls.
                default_headers=False,
            )
            self._sessions[key] = session
        return session

    async def aclose(self) -> None:
        """Close every session (idempotent)."""
        self._closed = True
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        secrets: Iterable[str] = (),
        asset: bool = False,
        ok_statuses: tuple[int, ...] = (),
    ) -> Response:
        """A buffered request; returns the response on 2xx (or ``ok_statuses``)."""
        secrets = tuple(secrets)
        body = orjson.dumps(json) if json is not None else content
        session = self._session(asset=asset)
        try:
            response = await session.request(
                method,  # type: ignore[arg-type]
                url,
                headers=headers,
                content=body,
                params=params,
                timeout=self._options.timeouts.request,
                accept_encoding=headers_mod.ACCEPT_ENCODING,
                http_version=_http_version(url),
            )
        except CurlError as exc:
            raise translate.from_transport(exc, secrets=secrets) from exc
        status = response.status_code
        if 200 <= status < 300 or status in ok_statuses:
            return response
        raise _logged(
            translate.from_status(
                status=status,
                body=response.content[: self._options.limits.max_error_body],
                content_type=response.headers.get("content-type") or "",
                retry_after=response.headers.get("retry-after"),
                secrets=secrets,
            ),
            url=url,
        )

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
    ) -> AsyncIterator[StreamResponse]:
        """Open a streamed request; yields once the status is 2xx. The transfer is
        aborted when the block exits, whatever the reason."""
        secrets = tuple(secrets)
        timeouts = self._options.timeouts
        session = self._session(asset=asset)
        body = orjson.dumps(json) if json is not None else None
        # Opened in its own task so that a caller who gives up before the headers
        # arrive (cancel, timeout) still gets the transfer aborted once they do.
        opening = asyncio.ensure_future(
            session.request(
                method,  # type: ignore[arg-type]
                url,
                headers=headers,
                content=body,
                stream=True,
                # curl's own low-speed cut is a backstop behind our idle timeout
                timeout=(timeouts.request, max(timeouts.stream_idle, timeouts.video_idle)),
                allow_redirects=follow_redirects,
                accept_encoding=headers_mod.ACCEPT_ENCODING,
                http_version=_http_version(url),
            )
        )
        try:
            async with asyncio.timeout(timeouts.request):
                response = await asyncio.shield(opening)
        except CurlError as exc:
            raise translate.from_transport(exc, secrets=secrets) from exc
        except TimeoutError as exc:
            opening.add_done_callback(_abort_when_opened)
            raise errors.UpstreamUnavailable(
                f"upstream sent no response headers within {timeouts.request:g}s"
            ) from exc
        except BaseException:
            opening.add_done_callback(_abort_when_opened)
            raise
        handle = StreamResponse(response=response, secrets=secrets)
        try:
            if not 200 <= handle.status < 300:
                raise _logged(await self._stream_error(handle, secrets=secrets), url=url)
            yield handle
        finally:
            await handle.aclose()

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
        headers = handle.response.headers
        return translate.from_status(
            status=handle.status,
            body=b"".join(parts)[:limit],
            content_type=headers.get("content-type") or "",
            retry_after=headers.get("retry-after"),
            secrets=secrets,
        )

    async def websocket(
        self, url: str, *, headers: dict[str, str], secrets: Iterable[str] = ()
    ) -> AsyncWebSocket:
        """Open a WebSocket (handshake bounded by the request timeout)."""
        session = self._session(asset=False)
        try:
            return await session.ws_connect(
                url, headers=headers, timeout=self._options.timeouts.request
            )
        except CurlError as exc:
            raise translate.from_ws_handshake(exc, secrets=tuple(secrets)) from exc


def _http_version(url: str) -> Any:
    """HTTP/1.1 for cleartext URLs: browsers never send the ``Upgrade: h2c`` that
    curl would add there (and servers such as uvicorn drop the body of such a
    request). TLS URLs keep the impersonated default (HTTP/2 via ALPN)."""
    return "v1" if url.startswith("http://") else None


def _logged(error: errors.UpstreamError, *, url: str) -> errors.UpstreamError:
    """Log a classified upstream answer (type, status, path: never headers or bodies)."""
    log.info(
        "upstream_error kind=%s blame=%s status=%s path=%s",
        type(error).__name__,
        error.blame,
        error.status,
        urlsplit(url).path,
    )
    return error


def _abort(response: Response) -> Any:
    """Stop a streamed transfer now (curl drops the connection and the handle goes
    back to the pool); returns the transfer task to await, if still running."""
    if response.quit_now is not None:
        response.quit_now.set()
    task: Any = response.astream_task
    if task is None or task.done():
        return None
    task.cancel()
    return task


def _abort_when_opened(opening: asyncio.Future[Response]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        _abort(opening.result())
