"""Prometheus metrics of the calls to grok.com (``grok2api_upstream_*``), recorded by
``GrokClient`` around each of its operations, whatever the generation (REST or mgw chat,
upload v1 or v2, media posts or ``mediaGenInput``).

One call is one ``GrokClient`` operation from its start to the end of its answer (a stream:
until it ends, fails or its consumer closes it), however many HTTP requests or WebSocket
frames it takes. Labels are bounded: ``operation`` is one of ``OPERATIONS``, ``outcome``
one of ``OUTCOMES``, classified from the exception alone (``outcome_of``); never a URL,
an id or a credential.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from typing import TypeVar

from grok2api_telemetry.metrics import LATENCY_BUCKETS
from prometheus_client import Counter, Histogram

from grok_web import errors

T = TypeVar("T")

OPERATIONS = ("chat", "upload", "imagine", "media", "usage", "account", "asset")
OUTCOMES = (
    "ok", "rate_limited", "unauthorized", "challenge", "client_error", "server_error",
    "timeout", "network", "cancelled",
)  # fmt: skip

REQUESTS = Counter(
    "grok2api_upstream_requests_total",
    "Calls to grok.com by operation and outcome class.",
    ["operation", "outcome"],
)
DURATION = Histogram(
    "grok2api_upstream_request_duration_seconds",
    "Time from a call's start to the end of its answer, by operation.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)

# Every series exists from the start (a rate over a counter that appears late misses its
# first increment), and the hot path finds its child in a dict instead of ``labels()``.
_COUNTS = {(op, outcome): REQUESTS.labels(op, outcome) for op in OPERATIONS for outcome in OUTCOMES}
_TIMES = {op: DURATION.labels(op) for op in OPERATIONS}

# First match wins: a subclass comes before its base.
_BY_CLASS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.InvalidCredential, "unauthorized"),
    (errors.RateLimited, "rate_limited"),
    (errors.CloudflareChallenge, "challenge"),
    (errors.AntiBotRejected, "challenge"),
    (errors.StreamIdleTimeout, "timeout"),  # FirstByteTimeout included
    (errors.EmptyStream, "server_error"),
    (errors.MalformedResponse, "server_error"),
    (errors.Forbidden, "client_error"),  # ProductUnavailable included
    (errors.ContentBlocked, "client_error"),
    (errors.RequestRejected, "client_error"),
    (errors.UsageError, "client_error"),
    (asyncio.CancelledError, "cancelled"),
    (GeneratorExit, "cancelled"),
)


def outcome_of(exc: BaseException) -> str:
    """The outcome class of a call that raised ``exc``: ``UpstreamUnavailable`` is a
    ``server_error`` when the upstream answered (a 5xx, an in-band error code) and
    ``network`` when it did not (refused, reset, closed socket, no headers in time);
    anything unforeseen counts as ``server_error``."""
    if isinstance(exc, errors.UpstreamUnavailable):
        return "server_error" if exc.status or exc.code is not None else "network"
    for cls, outcome in _BY_CLASS:
        if isinstance(exc, cls):
            return outcome
    return "server_error"


def record(operation: str, outcome: str, seconds: float) -> None:
    _COUNTS[operation, outcome].inc()
    _TIMES[operation].observe(seconds)


async def timed(operation: str, call: Awaitable[T]) -> T:
    """Await ``call`` (one operation) and record how it went."""
    started = time.perf_counter()
    try:
        result = await call
    except BaseException as exc:
        record(operation, outcome_of(exc), time.perf_counter() - started)
        raise
    record(operation, "ok", time.perf_counter() - started)
    return result


async def streamed(operation: str, items: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """The items of ``items`` (one streamed operation), recorded when the stream ends;
    closing this generator closes ``items`` at once (the upstream transfer stops), and the
    call counts as ``cancelled``."""
    started = time.perf_counter()
    outcome = "cancelled"
    try:
        async for item in items:
            yield item
        outcome = "ok"
    except BaseException as exc:
        outcome = outcome_of(exc)
        raise
    finally:
        try:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            record(operation, outcome, time.perf_counter() - started)
