"""Running one claimed job: pick its handler, relay progress, publish one terminal event, ack.

A job is acknowledged only after its terminal event is written (or found already written),
so a worker dying at any point leaves the job pending for ``reclaim_stale``. Cancellation
(shutdown) propagates without an event or an ack for the same reason.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Mapping
from typing import Any

from grok2api_jobs import Delivery, Job, JobEvent, JobQueue, events
from opentelemetry import propagate, trace

from . import errors
from .handlers import Handler
from .metrics import WorkerMetrics

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN_KIND = "unknown_kind"
    ABANDONED = "abandoned"
    DUPLICATE = "duplicate"
    """Another worker had already finished the job; nothing was published."""


async def run_job(
    delivery: Delivery,
    *,
    queue: JobQueue,
    handlers: Mapping[str, Handler],
    metrics: WorkerMetrics,
    max_attempts: int,
) -> Outcome:
    job = delivery.job
    started = time.monotonic()
    context = propagate.extract(dict(job.headers))
    with _tracer.start_as_current_span("media.job", context=context) as span:
        span.set_attributes({"job.id": job.id, "job.kind": job.kind, "job.attempt": job.attempt})
        if await queue.finished(job.id):
            outcome = Outcome.DUPLICATE
        else:
            outcome, event = await _execute(
                job, queue=queue, handlers=handlers, max_attempts=max_attempts
            )
            if event is not None and not await queue.publish_event(job.id, event):
                outcome = Outcome.DUPLICATE
        await queue.ack(delivery)
        span.set_attribute("job.outcome", outcome.value)
    kind = job.kind if job.kind in handlers else "unknown"
    metrics.jobs.labels(kind=kind, outcome=outcome.value).inc()
    metrics.duration.labels(kind=kind, outcome=outcome.value).observe(time.monotonic() - started)
    log.info("job_ended id=%s kind=%s attempt=%d outcome=%s", job.id, kind, job.attempt, outcome)
    return outcome


async def _execute(
    job: Job, *, queue: JobQueue, handlers: Mapping[str, Handler], max_attempts: int
) -> tuple[Outcome, JobEvent | None]:
    handler = handlers.get(job.kind)
    if handler is None:
        served = ", ".join(sorted(handlers)) or "none"
        message = f"no handler for job kind {job.kind!r} (this worker serves: {served})"
        return Outcome.UNKNOWN_KIND, events.error(code="unknown_kind", message=message)
    if job.attempt > max_attempts:
        message = (
            f"{job.kind} job abandoned: its worker stopped before finishing it "
            f"{job.attempt - 1} times"
        )
        return Outcome.ABANDONED, events.error(code="abandoned", message=message)

    async def progress(data: Mapping[str, Any]) -> None:
        if not await queue.publish_event(job.id, events.progress(data)):
            raise errors.JobSuperseded(f"job {job.id} was finished by another worker")

    try:
        data = await handler(job, progress=progress)
    except errors.JobSuperseded:
        return Outcome.DUPLICATE, None
    except errors.JobRejected as exc:
        return Outcome.FAILED, events.error(code=exc.code, message=exc.message)
    except Exception as exc:
        log.exception("job_handler_failed id=%s kind=%s", job.id, job.kind)
        message = f"{job.kind} job failed: {type(exc).__name__}: {exc}"
        return Outcome.FAILED, events.error(code="handler_failed", message=message)
    return Outcome.SUCCEEDED, events.result(data)
