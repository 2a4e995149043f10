"""Prometheus metrics of the media worker (``grok2api_media_*``)."""

from __future__ import annotations

import dataclasses
import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# Media jobs run from seconds (an image) to minutes (a video and its upscale).
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, WorkerMetrics] = (
    weakref.WeakKeyDictionary()
)


@dataclasses.dataclass(frozen=True)
class WorkerMetrics:
    queue_depth: Gauge
    """Jobs in the queue by ``state``: ``waiting`` (never claimed) or ``in_flight``."""
    jobs: Counter
    """Jobs ended by this worker, by ``kind`` and ``outcome`` (see ``dispatch.Outcome``)."""
    duration: Histogram
    """Seconds from claim to terminal event, by ``kind`` and ``outcome``."""
    in_flight: Gauge
    """Jobs this worker is running now."""

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
                ["state"],
                registry=registry,
            ),
            jobs=Counter(
                "grok2api_media_jobs",
                "Media jobs ended, by kind and outcome.",
                ["kind", "outcome"],
                registry=registry,
            ),
            duration=Histogram(
                "grok2api_media_job_duration_seconds",
                "Time from claiming a media job to its terminal event.",
                ["kind", "outcome"],
                buckets=DURATION_BUCKETS,
                registry=registry,
            ),
            in_flight=Gauge(
                "grok2api_media_jobs_in_flight",
                "Media jobs running in this worker.",
                registry=registry,
            ),
        )
