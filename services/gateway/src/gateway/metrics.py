"""Prometheus metrics of the gateway (``grok2api_gateway_*``), recorded per chat request and
per media request."""

from __future__ import annotations

from typing import Any

from grok2api_poolclient import leasing
from prometheus_client import Counter, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CHAT_REQUESTS = Counter(
    "grok2api_gateway_chat_requests_total",
    "Chat completions by model, streaming and result (ok or an error code).",
    ["model", "stream", "result"],
)
CHAT_DURATION = Histogram(
    "grok2api_gateway_chat_duration_seconds",
    "Time from the request to the end of its answer, by model and streaming.",
    ["model", "stream"],
    buckets=_LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "grok2api_gateway_time_to_first_token_seconds",
    "Time from the request to the first answer chunk sent to a streaming client.",
    ["model"],
    buckets=_LATENCY_BUCKETS,
)

FAILED_ATTEMPTS = Counter(
    "grok2api_gateway_upstream_failed_attempts_total",
    "Upstream attempts that failed before the first byte reached the client, by error code "
    "and whether the request moved on to another account.",
    ["code", "retried"],
)

KEY_LIMIT_REFUSALS = Counter(
    "grok2api_gateway_key_limit_refusals_total",
    "Requests a client key's limit refused (429), by limit.",
    ["limit"],
)

_MEDIA_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)

MEDIA_REQUESTS = Counter(
    "grok2api_gateway_media_requests_total",
    "Media requests (images, videos, chat with a media model) by endpoint, model and result "
    "(ok, client_gone, or an error code).",
    ["endpoint", "model", "result"],
)
MEDIA_DURATION = Histogram(
    "grok2api_gateway_media_duration_seconds",
    "Time from a media request to its answer (for /v1/videos: to the job's submission).",
    ["endpoint"],
    buckets=_MEDIA_BUCKETS,
)


def finished(*, model: str, stream: bool, result: str, seconds: float) -> None:
    flag = "true" if stream else "false"
    _child(CHAT_REQUESTS, model, flag, result).inc()
    _child(CHAT_DURATION, model, flag).observe(seconds)


def attempt_failed(verdict: leasing.Verdict, retried: bool) -> None:
    """``leasing.leased_stream``'s ``on_failure`` hook."""
    _child(FAILED_ATTEMPTS, verdict.code, "true" if retried else "false").inc()


def media_finished(*, endpoint: str, model: str, result: str, seconds: float) -> None:
    _child(MEDIA_REQUESTS, endpoint, model, result).inc()
    _child(MEDIA_DURATION, endpoint).observe(seconds)


def key_limit_refused(limit: str) -> None:
    _child(KEY_LIMIT_REFUSALS, limit).inc()


def first_token(*, model: str, seconds: float) -> None:
    _child(TIME_TO_FIRST_TOKEN, model).observe(seconds)


_CHILDREN: dict[tuple[object, ...], Any] = {}


def _child(metric: Counter | Histogram, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per label set (``labels`` takes a lock and
    builds its key on every call). Label sets are bounded: models, two flags, result codes."""
    key = (metric, *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child
