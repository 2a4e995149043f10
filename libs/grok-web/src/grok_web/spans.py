"""Client spans for calls to grok.com (``Transport``), made only when tracing is on.

One span per HTTP request, streamed body included, and one per WebSocket from its handshake
to ``terminate()`` (an mgw chat turn, an imagine session). Spans are started, never made
current: a stream's life crosses the consumer's yields, where a current span cannot be
detached safely. Names and attributes follow the OTel HTTP client conventions:
``{method} {url.template}``, ``http.request.method``, ``server.address``, ``server.port``,
``url.scheme``, ``url.template``, ``http.response.status_code``, ``error.type``. The
template replaces every path segment that names one thing (ids, user ids, file names of
generated assets) with ``{id}``, and no query, header, cookie or body is ever recorded.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from grok2api_telemetry import tracing

# A path segment that names one thing rather than an endpoint: hex ids and UUIDs, numbers,
# file names with a digit, anything very long.
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:[0-9a-fA-F-]{8,}|\d+|[^/]*\d[^/]*\.[^/]*|[^/]{24,})(?=/|$)"
)


def start(method: str, url: str, *, websocket: bool = False) -> tracing.Span | None:
    """A started client span for a call to ``url``, or None when tracing is off."""
    if not tracing.enabled():
        return None
    parts = urlsplit(url)
    template = _ID_SEGMENT.sub("{id}", parts.path) or "/"
    default_port = 443 if parts.scheme in ("https", "wss") else 80
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "server.address": parts.hostname or "",
        "server.port": parts.port or default_port,
        "url.scheme": parts.scheme,
        "url.template": template,
    }
    if websocket:
        attributes["grok2api.upstream.websocket"] = True
    return tracing.tracer().start_span(
        f"{method} {template}", kind=tracing.SpanKind.CLIENT, attributes=attributes
    )


def answered(span: tracing.Span | None, status: int) -> None:
    if span is not None:
        span.set_attribute("http.response.status_code", status)


def end(span: tracing.Span | None, error: BaseException | None = None) -> None:
    """End ``span``; ``error`` (the exception the call ended with) marks it failed by its
    type only: upstream messages can quote what was sent."""
    if span is None:
        return
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(tracing.Status(tracing.StatusCode.ERROR))
    span.end()
