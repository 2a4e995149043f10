"""Prometheus metrics of the usage-record pipeline (``grok2api_gateway_usage_*``).

Labels are bounded: ``stage`` is ``queue`` (the Redis list) or ``store`` (the durable
store); ``reason`` is one of the drop reasons below. The gauges say how worker processes
(``SERVER_WORKERS`` > 1, prometheus-client's multiprocess mode) combine: the buffers of the
live workers add up; the backlog of the one Redis list is the last one any worker saw.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BUFFERED = Gauge(
    "grok2api_gateway_usage_records_buffered",
    "Usage records in this process's buffer, not yet handed on (sampled at every flush).",
    multiprocess_mode="livesum",
)
WRITTEN = Counter(
    "grok2api_gateway_usage_records_written_total",
    "Usage records handed on by stage: queue (pushed to the Redis list) or store (newly "
    "stored in the durable store; a record stored before is not counted again).",
    ["stage"],
)
DROPPED = Counter(
    "grok2api_gateway_usage_records_dropped_total",
    "Usage records lost, by reason: buffer_full (the oldest, while the next stage was "
    "unreachable), shutdown (still buffered when the close deadline passed), closed "
    "(recorded after the log closed), malformed (unreadable entries of the Redis list).",
    ["reason"],
)
FLUSH_FAILURES = Counter(
    "grok2api_gateway_usage_flush_failures_total",
    "Failed attempts to hand a buffered batch on (retried with back-off), by stage.",
    ["stage"],
)
DRAIN_BACKLOG = Gauge(
    "grok2api_gateway_usage_drain_backlog",
    "Usage records waiting in the Redis list, as last seen by this process.",
    multiprocess_mode="livemostrecent",
)
DRAIN_FAILURES = Counter(
    "grok2api_gateway_usage_drain_failures_total",
    "Failed drain steps (retried with back-off), by stage: queue (Redis) or store.",
    ["stage"],
)
PURGED = Counter(
    "grok2api_gateway_usage_records_purged_total",
    "Usage records deleted from the durable store for being older than usage.retention_days.",
)

STAGES = ("queue", "store")
DROP_REASONS = ("buffer_full", "shutdown", "closed", "malformed")
for _stage in STAGES:
    WRITTEN.labels(_stage)
    FLUSH_FAILURES.labels(_stage)
    DRAIN_FAILURES.labels(_stage)
DROPPED_BY = {reason: DROPPED.labels(reason) for reason in DROP_REASONS}
