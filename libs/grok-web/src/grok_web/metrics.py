"""Prometheus metrics of the calls to grok.com (``grok2api_upstream_*``), recorded by
``GrokClient`` around each of its operations, whatever the generation (REST or mgw chat,
upload v1 or v2, media posts or ``mediaGenInput``).

One call is one ``GrokClient`` operation from its start to the end of its answer (a stream:
until it ends, fails or its consumer closes it), however many HTTP requests or WebSocket
frames it takes. Labels are bounded: ``operation`` is one of ``OPERATIONS``, ``outcome``
one of ``OUTCOMES``, classified from the exception alone (``outcome_of``), ``egress`` the
name of the egress the call left through ("default" without one: the network settings);
never a URL, a proxy address, an id or a credential.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from grok2api_telemetry.metrics import LATENCY_BUCKETS
from prometheus_client import Counter, Histogram

from grok_web import errors

log = logging.getLogger(__name__)
T = TypeVar("T")

# "home": the home page fetched to test an egress (its route and clearance), no account
OPERATIONS = ("chat", "upload", "imagine", "media", "usage", "account", "asset", "home")
OUTCOMES = (
    "ok", "rate_limited", "unauthorized", "challenge", "client_error", "server_error",
    "timeout", "network", "cancelled",
)  # fmt: skip

REQUESTS = Counter(
    "grok2api_upstream_requests_total",
    "Calls to grok.com by operation, outcome class and egress (its name; default = the "
    "network settings).",
    ["operation", "outcome", "egress"],
)
DURATION = Histogram(
    "grok2api_upstream_request_duration_seconds",
    "Time from a call's start to the end of its answer, by operation and egress.",
    ["operation", "egress"],
    buckets=LATENCY_BUCKETS,
)
DEFAULT_EGRESS = "default"


class _Series:
    """The children of one egress: every (operation, outcome) series exists as soon as
    the egress is first used (a rate over a counter that appears late misses its first
    increment), and the hot path finds its child in a dict instead of ``labels()``."""

    def __init__(self, egress: str) -> None:
        self.counts = {
            (op, outcome): REQUESTS.labels(op, outcome, egress)
            for op in OPERATIONS
            for outcome in OUTCOMES
        }
        self.times = {op: DURATION.labels(op, egress) for op in OPERATIONS}


# Egress names are few (the pool's egresses), so the label stays bounded.
_SERIES: dict[str, _Series] = {DEFAULT_EGRESS: _Series(DEFAULT_EGRESS)}


def _series(egress: str) -> _Series:
    found = _SERIES.get(egress)
    if found is None:
        found = _SERIES[egress] = _Series(egress)
    return found


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


def record(operation: str, outcome: str, seconds: float, *, egress: str = DEFAULT_EGRESS) -> None:
    series = _series(egress)
    series.counts[operation, outcome].inc()
    series.times[operation].observe(seconds)
    if outcome not in ("ok", "cancelled"):
        log.info(
            "upstream_call_failed operation=%s outcome=%s egress=%s", operation, outcome, egress
        )


async def timed(operation: str, call: Awaitable[T], *, egress: str = DEFAULT_EGRESS) -> T:
    """Await ``call`` (one operation through ``egress``, a name) and record how it went."""
    started = time.perf_counter()
    try:
        result = await call
    except BaseException as exc:
        record(operation, outcome_of(exc), time.perf_counter() - started, egress=egress)
        raise
    record(operation, "ok", time.perf_counter() - started, egress=egress)
    return result


async def streamed(
    operation: str,
    items: AsyncIterator[T],
    *,
    egress: str = DEFAULT_EGRESS,
    on_end: Callable[[], None] | None = None,
) -> AsyncGenerator[T, None]:
    """The items of ``items`` (one streamed operation through ``egress``, a name), recorded
    when the stream ends; closing this generator closes ``items`` at once (the upstream
    transfer stops), and the call counts as ``cancelled``. ``on_end`` runs last, whatever
    happened, if the stream was started."""
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
            record(operation, outcome, time.perf_counter() - started, egress=egress)
            if on_end is not None:
                on_end()
