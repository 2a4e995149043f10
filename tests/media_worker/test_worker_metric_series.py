"""The worker's per-job series are the registry's own, looked up once per label set."""

from __future__ import annotations

from media_worker.metrics import WorkerMetrics
from prometheus_client import CollectorRegistry


def test_per_job_series_are_the_labelled_series_and_cached() -> None:
    registry = CollectorRegistry()
    metrics = WorkerMetrics.on(registry)
    metrics.in_flight_of("image.generate").inc()
    metrics.finished_of("image.generate", "completed").inc()
    metrics.duration_of("image.generate").observe(0.2)
    assert metrics.in_flight_of("image.generate") is metrics.in_flight_of("image.generate")
    assert metrics.finished_of("image.generate", "completed") is metrics.finished.labels(
        kind="image.generate", outcome="completed"
    )
    sample = registry.get_sample_value
    assert sample("grok2api_media_jobs_in_flight", {"kind": "image.generate"}) == 1
    labels = {"kind": "image.generate", "outcome": "completed"}
    assert sample("grok2api_media_jobs_finished_total", labels) == 1
    assert sample("grok2api_media_job_duration_seconds_count", {"kind": "image.generate"}) == 1
