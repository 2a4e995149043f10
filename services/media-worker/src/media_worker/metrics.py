"""Prometheus metrics of the media worker (``grok2api_media_*``), as ``docs/metrics.md`` names
them.

The job metrics count what this worker does: workers add up. The queue's depth and the media
store's size describe state every worker shares (one Redis stream, one volume), so only the
worker holding the metrics leadership reports them (``shared.SharedReporter``); the others
have no such series. ``kind`` is a job kind this worker has a handler for, else ``other``.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# docs/metrics.md: the latency buckets shared by every request histogram (up to 10 min,
# which covers a video and its upscale).
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
OTHER_KIND = "other"

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, WorkerMetrics] = (
    weakref.WeakKeyDictionary()
)


@dataclasses.dataclass(frozen=True)
class WorkerMetrics:
    queue_depth: Gauge
    """Jobs in the queue by ``state``: ``waiting`` (never claimed) or ``in_flight`` (claimed
    by some worker, not acknowledged). Shared: set by the metrics leader only."""
    in_flight: Gauge
    """Jobs this worker is running now, by ``kind``."""
    finished: Counter
    """Jobs this worker ended, by ``kind`` and ``outcome`` (``job_outcome``)."""
    duration: Histogram
    """Seconds from claiming a job to acknowledging it, by ``kind``."""
    cache_bytes: Gauge
    """The media store's size by file ``kind`` (image, video, upload). Shared: set by the
    metrics leader only."""
    _children: dict[tuple[str, ...], Any] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )
    """The per-job series looked up so far: ``labels()`` takes a lock and checks its
    arguments on every call, and every job makes four (kinds and outcomes are few)."""

    def in_flight_of(self, kind: str) -> Gauge:
        return self._series("in_flight", kind=kind)  # type: ignore[no-any-return]

    def finished_of(self, kind: str, outcome: str) -> Counter:
        return self._series("finished", kind=kind, outcome=outcome)  # type: ignore[no-any-return]

    def duration_of(self, kind: str) -> Histogram:
        return self._series("duration", kind=kind)  # type: ignore[no-any-return]

    def _series(self, metric: str, **labels: str) -> Any:
        key = (metric, *labels.values())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = getattr(self, metric).labels(**labels)
        return child

    @classmethod
    def on(cls, registry: CollectorRegistry = REGISTRY) -> WorkerMetrics:
        """The worker metrics registered on ``registry``, created on first use: several
        workers in one process share them instead of failing on duplicate names."""
        metrics = _by_registry.get(registry)
        if metrics is None:
            metrics = _by_registry[registry] = cls._create(registry)
        return metrics

    @classmethod
    def _create(cls, registry: CollectorRegistry) -> WorkerMetrics:
        return cls(
            queue_depth=Gauge(
                "grok2api_media_queue_depth",
                "Media jobs in the queue, by state (waiting, in_flight).",
                ["state"], registry=registry,
            ),
            in_flight=Gauge(
                "grok2api_media_jobs_in_flight", "Media jobs running on this worker, by kind.",
                ["kind"], registry=registry,
            ),
            finished=Counter(
                "grok2api_media_jobs_finished_total", "Media jobs ended, by kind and outcome.",
                ["kind", "outcome"], registry=registry,
            ),
            duration=Histogram(
                "grok2api_media_job_duration_seconds",
                "Time from claiming a media job to its end, by kind.",
                ["kind"], buckets=LATENCY_BUCKETS, registry=registry,
            ),
            cache_bytes=Gauge(
                "grok2api_media_cache_bytes", "The media store's size in bytes, by file kind.",
                ["kind"], registry=registry,
            ),
        )  # fmt: skip

    def hide_shared(self) -> None:
        """Drop the shared gauges' series (this worker is not, or no longer, the leader)."""
        self.queue_depth.clear()
        self.cache_bytes.clear()
