"""Request bodies read within bounds (``read``), and refused sanely (``refuse``).

Every ``/v1`` body the gateway reads goes through ``read``, so nothing that costs (a lease,
an upstream call) starts before the whole body is in and within bounds:

- size: a ``Content-Length`` over ``Limits.max_bytes`` is refused before a byte of the body
  is read; a chunked body as soon as it passes the bound, so no more than the bound is
  ever held (``errors.RequestTooLarge``, 413);
- time: the whole body must arrive within ``Limits.timeout`` of the first read, so a client
  that trickles bytes, or sends its headers and then nothing, cannot hold a connection and
  a buffer (``errors.RequestTimeout``, 408). uvicorn has no such timeout: it runs the app as
  soon as the headers are in, and its keep-alive timer only covers idle connections
  between requests.

``refuse`` answers either with ``Connection: close``. After a response uvicorn keeps
reading and dropping the rest of a body, and its idle timer stays off while bytes arrive,
so a refused connection must end. Closing a socket that still has unread input makes the
kernel answer with a reset, which can reach the client before it has read the answer; so
for a body the client is still sending at full speed, ``refuse`` writes the answer and
then drains the input for a short while before closing (a "lingering close", as nginx and
Apache do).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable

from grok2api_settings.sections import ServerSettings
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import errors

LINGER_SECONDS = 2.0
"""How long ``refuse`` drains a body the client is still sending before closing: enough for
the answer to reach the client ahead of a reset; never longer than the body timeout."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    """Largest body accepted (bytes) and the time allowed to receive all of it (seconds)."""

    max_bytes: int
    timeout: float

    @classmethod
    def from_settings(cls, server: ServerSettings) -> Limits:
        return cls(max_bytes=server.max_body_bytes, timeout=server.body_timeout)


async def read(*, scope: Scope, receive: Receive, limits: Limits) -> bytes:
    """The whole body; raises ``errors.BodyRefused`` as above, and starlette's
    ``ClientDisconnect`` when the client goes away first."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_bytes:
        # A client waiting for "100 Continue" sends nothing more: no need to drain.
        expects = (_header(scope, b"expect") or "").lower() == "100-continue"
        raise _too_large(limits, size=int(declared), linger=not expects)
    try:
        async with asyncio.timeout(limits.timeout):
            return await _receive_all(receive, limits=limits)
    except TimeoutError:
        raise errors.RequestTimeout(
            f"The request body did not arrive within {limits.timeout:g} s "
            "(server.body_timeout).",
            linger=False,  # a client this slow gets no more of our time
        ) from None


async def _receive_all(receive: Receive, *, limits: Limits) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        size += len(chunk)
        if size > limits.max_bytes:
            raise _too_large(limits, size=None, linger=more)
        if not more:
            if not chunks:
                return chunk  # the usual case: the whole body in one message, no copy
            chunks.append(chunk)
            return b"".join(chunks)
        if chunk:
            chunks.append(chunk)


def _too_large(limits: Limits, *, size: int | None, linger: bool) -> errors.RequestTooLarge:
    what = f"of {size} bytes " if size is not None else ""
    return errors.RequestTooLarge(
        f"The request body {what}is larger than the limit of {limits.max_bytes} bytes "
        "(server.max_body_bytes).",
        linger=linger,
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1").strip()
    return None


async def refuse(
    exc: errors.BodyRefused,
    *,
    scope: Scope,
    receive: Receive,
    send: Send,
    limits: Limits,
    render: Callable[[BaseException], Response] = errors.error_response,
) -> None:
    """Answer ``exc`` (rendered by ``render``: OpenAI's shape unless an endpoint of another
    API family passes its own) and end the connection (after a drain if ``exc.linger``)."""
    response = render(exc)
    response.headers["Connection"] = "close"
    if not exc.linger:
        await response(scope, receive, send)
        return
    await send(
        {"type": "http.response.start", "status": response.status_code,
         "headers": response.raw_headers}
    )  # fmt: skip
    # The whole answer, yet not the end of the response: uvicorn closes the connection at
    # the end, and the client has its answer (Content-Length) while the input drains.
    await send({"type": "http.response.body", "body": response.body, "more_body": True})
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(min(LINGER_SECONDS, limits.timeout)):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body"):
                    break
    await send({"type": "http.response.body", "body": b"", "more_body": False})
