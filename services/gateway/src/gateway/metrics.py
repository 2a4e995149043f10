"""Prometheus metrics of the gateway (``grok2api_gateway_*``), as ``docs/metrics.md`` names
them: every HTTP request (``http_metrics`` observes them), the chat streams' first token and
tokens, the upstream attempts that failed and the requests that moved to another account.

Labels are bounded: ``route`` is a route template (``OTHER_ROUTE`` for a path no route
matches), ``model`` a catalogue id, ``OTHER_MODEL`` for anything else and "" for a request
without one, ``status`` an HTTP status the gateway sent, ``outcome`` a lease outcome.
"""

from __future__ import annotations

from typing import Any

from grok2api_poolclient import leases, leasing
from grok2api_telemetry.metrics import LATENCY_BUCKETS
from grok_web import catalogue
from prometheus_client import Counter, Histogram

OTHER_ROUTE = "other"
OTHER_MODEL = "other"

REQUESTS = Counter(
    "grok2api_gateway_requests_total",
    "HTTP requests answered, by route template, model and status (499: the client left "
    "before the answer; a stream that ended in an error event counts with that error's "
    "status).",
    ["route", "model", "status"],
)
REQUEST_DURATION = Histogram(
    "grok2api_gateway_request_duration_seconds",
    "Time from a request's arrival to the end of its answer's body, by route and model.",
    ["route", "model"],
    buckets=LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "grok2api_gateway_time_to_first_token_seconds",
    "Time from a chat request's arrival to the first answer chunk sent to a streaming client.",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
STREAMED_TOKENS = Counter(
    "grok2api_gateway_streamed_tokens_total",
    "Completion tokens (reasoning included, as the usage object counts them) of chat streams "
    "that ended normally.",
    ["model"],
)
UPSTREAM_ATTEMPTS = Counter(
    "grok2api_gateway_upstream_attempts_total",
    "Upstream attempts that failed before the first byte reached the client, by the lease "
    "outcome they released the account with, and whether the request tried again.",
    ["outcome", "retried"],
)
ACCOUNT_SWITCHES = Counter(
    "grok2api_gateway_account_switches_total",
    "Chat requests answered by another account than the first one leased.",
    ["model"],
)
KEY_LIMIT_REFUSALS = Counter(
    "grok2api_gateway_key_limit_refusals_total",
    "Requests a client key's limit refused (429), by limit.",
    ["limit"],
)

# The label a model id is counted under; anything missing here is OTHER_MODEL.
_MODEL_LABELS = {"": "", **{spec.id: spec.id for spec in catalogue.all_models()}}
# The outcomes a failed attempt can release its lease with (a cancelled one is not retried).
_FAILURES = tuple(
    o for o in leases.Outcome if o not in (leases.Outcome.SUCCESS, leases.Outcome.CANCELLED)
)


def model_label(model: str) -> str:
    return _MODEL_LABELS.get(model, OTHER_MODEL)


def request_finished(*, route: str, model: str, status: int, seconds: float) -> None:
    label = _MODEL_LABELS.get(model, OTHER_MODEL)
    _child(REQUESTS, route, label, status).inc()
    _child(REQUEST_DURATION, route, label).observe(seconds)


def first_token(*, model: str, seconds: float) -> None:
    _child(TIME_TO_FIRST_TOKEN, model_label(model)).observe(seconds)


def streamed_tokens(*, model: str, tokens: int) -> None:
    _child(STREAMED_TOKENS, model_label(model)).inc(tokens)


def attempt_failed(verdict: leasing.Verdict, retried: bool) -> None:
    """``leasing.leased_stream``'s ``on_failure`` hook."""
    _child(UPSTREAM_ATTEMPTS, verdict.outcome.value, "true" if retried else "false").inc()


def account_switched(*, model: str) -> None:
    _child(ACCOUNT_SWITCHES, model_label(model)).inc()


def key_limit_refused(limit: str) -> None:
    _child(KEY_LIMIT_REFUSALS, limit).inc()


_CHILDREN: dict[tuple[object, ...], Any] = {}


def _child(metric: Counter | Histogram, *labels: object) -> Any:
    """``metric.labels(*labels)``, looked up once per label set (``labels`` takes a lock and
    builds its key on every call). Callers pass bounded values only (see the module
    docstring): this cache holds one entry per series."""
    key = (metric, *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


def _precreate() -> None:
    """The series a dashboard or an alert rates from the start (a counter that appears
    late loses its first increment to ``rate``)."""
    for outcome in _FAILURES:
        for retried in ("true", "false"):
            _child(UPSTREAM_ATTEMPTS, outcome.value, retried)
    for spec in catalogue.all_models():
        if spec.kind == "chat":
            _child(STREAMED_TOKENS, spec.id)
            _child(ACCOUNT_SWITCHES, spec.id)


_precreate()
