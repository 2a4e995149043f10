"""Events and job records built without the frozen dataclasses' ``__init__`` (they are made
per event) are the same values the classes would build, and as frozen."""

from __future__ import annotations

import dataclasses

import pytest
from grok2api_jobs import events, records
from grok2api_jobs.envelope import Job, new_job
from grok2api_jobs.events import EventType, JobEvent
from grok2api_jobs.records import JobRecord, JobStatus


def test_event_helpers_build_what_the_class_builds() -> None:
    built = [
        events.progress({"progress": 5}),
        events.result({"ok": True}),
        events.error(code="x", message="m", status=502),
    ]
    expected = [
        JobEvent(EventType.PROGRESS, {"progress": 5}, built[0].at),
        JobEvent(EventType.RESULT, {"ok": True}, built[1].at),
        JobEvent(EventType.ERROR, {"code": "x", "message": "m", "status": 502}, built[2].at),
    ]
    assert built == expected
    assert events.decode(events.encode(built[2])) == built[2]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].data = {}  # type: ignore[misc]


def _record() -> JobRecord:
    job = new_job(kind="test.echo", payload={}, headers={})
    return records.new_record(job, metadata={"n": 1}, owner="k", ttl=60.0)


def test_a_progress_event_starts_the_record_and_moves_its_progress() -> None:
    record = _record()
    event = JobEvent(EventType.PROGRESS, {"progress": 40}, record.created_at + 1)
    changed = records.applied(record, event, ttl=60.0)
    assert changed == dataclasses.replace(
        record, status=JobStatus.IN_PROGRESS, progress=40, updated_at=event.at,
        started_at=event.at, expires_at=event.at + 60.0,
    )  # fmt: skip
    later = JobEvent(EventType.PROGRESS, {"progress": "?"}, event.at + 1)
    again = records.applied(changed, later, ttl=60.0)
    assert (again.progress, again.started_at, again.updated_at) == (40, event.at, later.at)
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.progress = 1  # type: ignore[misc]
    assert record.status is JobStatus.QUEUED  # the old record is left as it was


def test_terminal_events_set_the_outcome_and_the_finish_time() -> None:
    started = records.applied(
        _record(), JobEvent(EventType.PROGRESS, {"progress": 10}, 5.0), ttl=60.0
    )
    done = records.applied(started, JobEvent(EventType.RESULT, {"ok": 1}, 9.0), ttl=60.0)
    assert (done.status, done.progress, done.result, done.error) == (
        JobStatus.COMPLETED, 100, {"ok": 1}, None,
    )  # fmt: skip
    assert (done.started_at, done.finished_at, done.expires_at) == (5.0, 9.0, 69.0)
    cancelled = records.applied(
        started, events.error(code=records.CANCELLED_CODE, message="gone"), ttl=60.0
    )
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.progress == 10 and cancelled.result is None
    assert cancelled.error == {"code": "cancelled", "message": "gone"}


def test_new_jobs_and_their_records_are_what_the_classes_build() -> None:
    job = new_job(kind="test.echo", payload={"a": 1}, headers={"traceparent": "t"})
    assert job == Job(job.id, "test.echo", {"a": 1}, job.created_at, 1, {"traceparent": "t"})
    record = records.new_record(job, metadata={"n": 1}, owner="k", ttl=60.0)
    assert record == JobRecord(
        id=job.id, kind="test.echo", status=JobStatus.QUEUED, progress=0,
        created_at=job.created_at, updated_at=job.created_at, started_at=None,
        finished_at=None, metadata={"n": 1}, owner="k", result=None, error=None,
        expires_at=job.created_at + 60.0,
    )  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.attempt = 2  # type: ignore[misc]
    assert dataclasses.replace(job, attempt=2).attempt == 2  # reclaim's copy still works
