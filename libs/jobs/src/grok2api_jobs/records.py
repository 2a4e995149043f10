"""A job's record: its status, last progress, timestamps, result or error, in one object.

Submitting a job writes its record (``queued``); each event the job publishes changes it as
``change_for`` says, in the same atomic step as the event (the Redis backend's publish
script applies the same rules). Timestamps are unix seconds: ``created_at`` from the job,
the others from the events (``JobEvent.at``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from .envelope import Job
from .events import EventType, JobEvent
from .frozen import built

CANCELLED_CODE = "cancelled"
"""The ``code`` of the error event that ``JobQueue.cancel`` publishes."""
CANCEL_MESSAGE = "the job was cancelled"
"""The message of that event unless the caller gives one."""


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """What is known about one job. ``progress`` is 0-100 (100 once completed); ``metadata``
    and ``owner`` are what the producer gave at submit; ``result`` / ``error`` are the data
    of the terminal event; ``expires_at`` is when the record (and the job's events) will be
    forgotten unless the job changes again."""

    id: str
    kind: str
    status: JobStatus
    progress: int
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    metadata: Mapping[str, Any]
    owner: str
    result: Mapping[str, Any] | None
    error: Mapping[str, Any] | None
    expires_at: float


class Change(NamedTuple):
    """What one event does to its job's record. ``progress`` None: left as it was;
    ``outcome``: the record field that takes the (terminal) event's data. A named tuple:
    one is made per event, and a frozen dataclass's per-field ``object.__setattr__`` is
    not free."""

    status: JobStatus
    progress: int | None
    outcome: Literal["result", "error"] | None


def change_for(event: JobEvent) -> Change:
    if event.type is EventType.RESULT:
        return Change(JobStatus.COMPLETED, 100, "result")
    if event.type is EventType.ERROR:
        cancelled = event.data.get("code") == CANCELLED_CODE
        return Change(JobStatus.CANCELLED if cancelled else JobStatus.FAILED, None, "error")
    value = event.data.get("progress")
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
    return Change(JobStatus.IN_PROGRESS, value if valid else None, None)


def new_record(job: Job, *, metadata: Mapping[str, Any], owner: str, ttl: float) -> JobRecord:
    return built(  # one per job: see ``frozen``
        JobRecord,
        id=job.id,
        kind=job.kind,
        status=JobStatus.QUEUED,
        progress=0,
        created_at=job.created_at,
        updated_at=job.created_at,
        started_at=None,
        finished_at=None,
        metadata=metadata,
        owner=owner,
        result=None,
        error=None,
        expires_at=job.created_at + ttl,
    )


def applied(record: JobRecord, event: JobEvent, *, ttl: float) -> JobRecord:
    """``record`` after ``event`` (the caller has checked that the job is not finished)."""
    change = change_for(event)
    terminal = change.outcome is not None
    at = event.at
    # Every event of every job passes here: ``built`` (see ``frozen``), not
    # ``dataclasses.replace`` and the frozen class's 13 ``object.__setattr__``.
    fields = dict(record.__dict__)
    fields["status"] = change.status
    if change.progress is not None:
        fields["progress"] = change.progress
    fields["updated_at"] = at
    if record.started_at is None and not terminal:
        fields["started_at"] = at
    fields["finished_at"] = at if terminal else None
    if change.outcome is not None:
        fields[change.outcome] = dict(event.data)
    fields["expires_at"] = at + ttl
    return built(JobRecord, **fields)
