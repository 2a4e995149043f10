"""Running one claimed job: pick its handler, publish a ``started`` progress event, relay
the handler's progress, publish one terminal event, ack.

A job is acknowledged only after its terminal event is written (or found already written),
so a worker dying at any point leaves the job pending for ``reclaim_stale``. Cancellation
(shutdown) propagates without an event or an ack for the same reason, except a cancel made
through the job's ``Stop``: the job has ended elsewhere, so it is acked as ``CANCELLED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from grok2api_jobs import Delivery, Job, JobEvent, JobQueue, events
from grok2api_telemetry import tracing

from . import errors
from .handlers import Handler
from .metrics import OTHER_KIND, WorkerMetrics

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    """The handler ran past the job's deadline (``errors.JobTimedOut``); an error event."""
    UNKNOWN_KIND = "unknown_kind"
    ABANDONED = "abandoned"
    DUPLICATE = "duplicate"
    """The job had already ended (finished by another worker, or cancelled) when this
    worker took it or tried to end it; nothing was published."""
    CANCELLED = "cancelled"
    """The job ended elsewhere while its handler ran here (almost always a client's
    cancel; else another worker finished it): the handler was stopped, nothing published."""


# Outcome → the ``outcome`` label of ``grok2api_media_jobs_finished_total``. A duplicate is
# not counted: the job ended elsewhere (another worker counted it) or before it ran here.
FINISHED_OUTCOMES: dict[Outcome, str] = {
    Outcome.SUCCEEDED: "completed",
    Outcome.FAILED: "failed",
    Outcome.UNKNOWN_KIND: "failed",
    Outcome.ABANDONED: "failed",
    Outcome.TIMED_OUT: "timeout",
    Outcome.CANCELLED: "cancelled",
}


def metric_kind(kind: str, handlers: Mapping[str, Handler]) -> str:
    """The ``kind`` label of a job: its kind when this worker serves it, else ``other``
    (a job's kind comes from whoever submitted it: unbounded)."""
    return kind if kind in handlers else OTHER_KIND


class Stop:
    """Stops a job's handler once the job has ended elsewhere (see ``worker``).

    ``request()`` cancels the job's task only while its handler runs (not while the job is
    published or acked), and marks the cancel as a stop: ``run_job`` then acks the job as
    ``Outcome.CANCELLED`` instead of leaving it for reclaim as on shutdown."""

    def __init__(self) -> None:
        self.requested = False
        self._handler_task: asyncio.Task[Any] | None = None

    def request(self) -> bool:
        """Cancel the running handler; False (doing nothing) when none runs now."""
        if self._handler_task is None or self.requested:
            return False
        self.requested = True
        self._handler_task.cancel()
        return True

    @contextlib.contextmanager
    def handler_running(self) -> Iterator[None]:
        self._handler_task = asyncio.current_task()
        try:
            yield
        finally:
            self._handler_task = None


async def run_job(
    delivery: Delivery,
    *,
    queue: JobQueue,
    handlers: Mapping[str, Handler],
    metrics: WorkerMetrics,
    max_attempts: int,
    stop: Stop | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    job = delivery.job
    stop = stop or Stop()
    started = clock()
    with _job_span(job) as span:
        try:
            outcome = await _settle(
                job, queue=queue, handlers=handlers, max_attempts=max_attempts, stop=stop
            )
        except asyncio.CancelledError:
            if not stop.requested:
                raise  # shutdown: no event, no ack; the job is left for reclaim
            _uncancel()
            outcome = Outcome.CANCELLED
        await queue.ack(delivery)
        if span is not None:
            span.set_attribute("grok2api.job.outcome", outcome.value)
    kind = metric_kind(job.kind, handlers)
    finished = FINISHED_OUTCOMES.get(outcome)
    if finished is not None:
        metrics.finished_of(kind, finished).inc()
        metrics.duration_of(kind).observe(clock() - started)
    log.info("job_ended id=%s kind=%s attempt=%d outcome=%s", job.id, kind, job.attempt, outcome)
    return outcome


def _job_span(job: Job) -> contextlib.AbstractContextManager[tracing.Span | None]:
    """The job's consumer span (tracing on), child of the producer's span whose context
    the job's headers carry (W3C ``traceparent``), so one trace runs from the client's
    request to the upstream calls made here."""
    if not tracing.enabled():
        return tracing.span("")  # the shared no-op
    return tracing.span("process media-jobs", kind=tracing.SpanKind.CONSUMER, attributes={
        "messaging.system": "grok2api.jobs", "messaging.operation.type": "process",
        "messaging.destination.name": "media-jobs", "messaging.message.id": job.id,
        "grok2api.job.kind": job.kind, "grok2api.job.attempt": job.attempt,
    }, context=tracing.extract(job.headers))  # fmt: skip


def _uncancel() -> None:
    """Forget the stop's cancel request: the task goes on to ack the job."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


async def _settle(
    job: Job, *, queue: JobQueue, handlers: Mapping[str, Handler], max_attempts: int, stop: Stop
) -> Outcome:
    """Run the job unless it has already ended, and publish how it ended."""
    if await queue.finished(job.id):
        return Outcome.DUPLICATE
    outcome, event = await _execute(
        job, queue=queue, handlers=handlers, max_attempts=max_attempts, stop=stop
    )
    if event is not None and not await queue.publish_event(job.id, event):
        return Outcome.DUPLICATE
    return outcome


async def _execute(
    job: Job, *, queue: JobQueue, handlers: Mapping[str, Handler], max_attempts: int, stop: Stop
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
            raise errors.JobSuperseded(f"job {job.id} has already ended (elsewhere, or cancelled)")

    # At once, so the job's record shows it in progress from the moment a worker has it.
    starting = {"progress": 0, "stage": "started", "attempt": job.attempt}
    if not await queue.publish_event(job.id, events.progress(starting)):
        return Outcome.DUPLICATE, None
    try:
        with stop.handler_running():
            data = await handler(job, progress=progress)
    except errors.JobSuperseded:
        return Outcome.DUPLICATE, None
    except errors.JobRejected as exc:
        details = {"status": exc.status, "retry_after": exc.retry_after}
        ended = Outcome.TIMED_OUT if isinstance(exc, errors.JobTimedOut) else Outcome.FAILED
        return ended, events.error(code=exc.code, message=exc.message, **details)
    except Exception as exc:
        log.exception("job_handler_failed id=%s kind=%s", job.id, job.kind)
        message = f"{job.kind} job failed: {type(exc).__name__}: {exc}"
        return Outcome.FAILED, events.error(code="handler_failed", message=message)
    return Outcome.SUCCEEDED, events.result(data)
