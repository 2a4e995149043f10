"""The dashboard's figures, computed from the services' Prometheus samples.

Rates are counter deltas between two snapshots divided by the time between them (a counter
that went down was reset by a restart: its new value is the delta, as Prometheus' ``rate``
takes it). Requests are the gateway's API requests (``grok2api_gateway_requests_total`` of
the ``/v1/`` routes: not its probes or scrapes); an error is one answered with a status of
400 or more, except 499 (the client left). The
per-model rows are those of requests that named a model. Latency and time-to-first-token
quantiles are interpolated from histogram buckets as ``histogram_quantile`` does, over the
same window when it saw requests and over the process lifetimes otherwise (``basis`` says
which).

``Dashboard`` snapshots at most every ``min_interval`` seconds, driven by the panel's
polling (no background task), and keeps the last ``history`` points for the live charts.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from .metrics_source import Samples, Snapshot, Source

REQUESTS = "grok2api_gateway_requests_total"
LATENCY = "grok2api_gateway_request_duration_seconds_bucket"
TTFT = "grok2api_gateway_time_to_first_token_seconds_bucket"
CLIENT_CLOSED = "499"
API_ROUTES = "/v1/"
QUANTILES = (0.5, 0.9, 0.99)


class Dashboard:
    def __init__(
        self,
        source: Source,
        *,
        min_interval: float = 2.0,
        history: int = 180,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.source = source
        self.min_interval = min_interval
        self._clock = clock
        self._last: Snapshot | None = None
        self._previous: Snapshot | None = None
        self._last_taken = -math.inf
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=history)

    async def figures(self) -> dict[str, Any]:
        """The ``GET /dashboard`` body, from a fresh snapshot unless the last is recent."""
        if self._last is None or self._clock() - self._last_taken >= self.min_interval:
            snapshot = await self.source.snapshot()
            self._previous, self._last = self._last, snapshot
            self._last_taken = self._clock()
            self._history.append(point(compute(snapshot, self._previous)))
        current = compute(self._last, self._previous)
        return {
            "source": self.source.kind,
            "targets": [vars(target) for target in self._last.targets],
            **current,
            "history": list(self._history),
        }


def compute(now: Snapshot, before: Snapshot | None) -> dict[str, Any]:
    window = now.at - before.at if before is not None and now.at > before.at else None
    deltas = _deltas(now.samples, before.samples if before is not None and window else None)
    requests = _rate(deltas, window, _is_request)
    errors = _rate(deltas, window, _is_error)
    return {
        "scraped_at": now.at,
        "window_seconds": window,
        "requests_per_second": requests,
        "errors_per_second": errors,
        "error_ratio": errors / requests if requests and errors is not None else None,
        "models": _models(now.samples, deltas, window),
        "pool": _pool(now.samples),
        "media": _media(now.samples),
    }


def point(figures: dict[str, Any]) -> dict[str, Any]:
    """One history point: what the live charts draw."""
    queue = figures["media"]["queue_depth"]
    return {
        "t": figures["scraped_at"],
        "requests_per_second": figures["requests_per_second"],
        "errors_per_second": figures["errors_per_second"],
        "queue_waiting": queue.get("waiting", 0),
        "leases_in_flight": figures["pool"]["leases_in_flight"],
        "p90_latency_by_model": {
            row["model"]: row["latency_seconds"]["p90"] for row in figures["models"]
        },
    }


def _deltas(now: Samples, before: Samples | None) -> Samples:
    if before is None:
        return {}
    out: Samples = {}
    for key, value in now.items():
        old = before.get(key, 0.0)
        out[key] = value - old if value >= old else value
    return out


def _rate(
    deltas: Samples, window: float | None, wanted: Callable[[str, dict[str, str]], bool]
) -> float | None:
    if window is None:
        return None
    return sum(v for (name, labels), v in deltas.items() if wanted(name, dict(labels))) / window


def _is_request(name: str, labels: dict[str, str]) -> bool:
    return name == REQUESTS and labels.get("route", "").startswith(API_ROUTES)


def _is_error(name: str, labels: dict[str, str]) -> bool:
    if not _is_request(name, labels):
        return False
    status = labels.get("status", "")
    return status != CLIENT_CLOSED and status.isdigit() and int(status) >= 400


def _models(now: Samples, deltas: Samples, window: float | None) -> list[dict[str, Any]]:
    models = sorted({dict(labels).get("model", "") for (name, labels) in now if name == REQUESTS})
    rows = []
    for model in filter(None, models):
        requests, errors = _requests_of(model, errors=False), _requests_of(model, errors=True)
        latency, basis = _quantiles(LATENCY, model, now, deltas)
        ttft, _ = _quantiles(TTFT, model, now, deltas)
        rows.append({
            "model": model,
            "requests_total": _total(now, requests),
            "errors_total": _total(now, errors),
            "requests_per_second": _rate(deltas, window, requests),
            "errors_per_second": _rate(deltas, window, errors),
            "latency_seconds": latency,
            "ttft_seconds": ttft,
            "basis": basis,
        })
    return rows


def _requests_of(model: str, *, errors: bool) -> Callable[[str, dict[str, str]], bool]:
    def wanted(name: str, labels: dict[str, str]) -> bool:
        if name != REQUESTS or labels.get("model") != model:
            return False
        return not errors or _is_error(name, labels)

    return wanted


def _total(samples: Samples, wanted: Callable[[str, dict[str, str]], bool]) -> float:
    return sum(v for (name, labels), v in samples.items() if wanted(name, dict(labels)))


def _quantiles(
    metric: str, model: str, now: Samples, deltas: Samples
) -> tuple[dict[str, float | None], str]:
    windowed = _buckets(metric, model, deltas)
    basis = "window" if windowed and windowed[-1][1] > 0 else "lifetime"
    buckets = windowed if basis == "window" else _buckets(metric, model, now)
    return {f"p{round(q * 100)}": histogram_quantile(q, buckets) for q in QUANTILES}, basis


def _buckets(metric: str, model: str, samples: Samples) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of ``metric`` for ``model``, summed over its other
    labels (the routes), by bound."""
    summed: dict[float, float] = collections.defaultdict(float)
    for (name, labels), value in samples.items():
        label_map = dict(labels)
        if name == metric and label_map.get("model") == model:
            summed[float(label_map["le"])] += value
    return sorted(summed.items())


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """Prometheus' ``histogram_quantile`` over cumulative ``(le, count)`` buckets: linear
    interpolation inside the bucket holding the rank; the highest finite bound when the rank
    falls in ``+Inf``; None without observations."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def _pool(samples: Samples) -> dict[str, Any]:
    accounts = _labelled(samples, "grok2api_pool_accounts", ("tier", "status"))
    by_status: dict[str, float] = collections.defaultdict(float)
    by_tier: dict[str, float] = collections.defaultdict(float)
    for row in accounts:
        by_status[row["status"]] += row["value"]
        by_tier[row["tier"]] += row["value"]
    return {
        "accounts": [{"tier": r["tier"], "status": r["status"], "count": r["value"]}
                     for r in accounts],
        "accounts_by_status": dict(by_status),
        "accounts_by_tier": dict(by_tier),
        "remaining_quota": [
            {"tier": r["tier"], "mode": r["mode"], "remaining": r["value"]}
            for r in _labelled(samples, "grok2api_pool_remaining_quota", ("tier", "mode"))
        ],
        "leases_in_flight": samples.get(("grok2api_pool_leases_in_flight", ()), 0.0),
    }


def _media(samples: Samples) -> dict[str, Any]:
    depth = _labelled(samples, "grok2api_media_queue_depth", ("state",))
    return {
        "queue_depth": {row["state"]: row["value"] for row in depth},
        "jobs_in_flight": samples.get(("grok2api_media_jobs_in_flight", ()), 0.0),
    }


def _labelled(samples: Samples, metric: str, labels: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for (name, pairs), value in sorted(samples.items()):
        if name == metric:
            label_map = dict(pairs)
            rows.append({**{label: label_map.get(label, "") for label in labels}, "value": value})
    return rows
