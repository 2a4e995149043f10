"""The ``JobQueue`` contract: every test runs against the in-process and the Redis backend."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from grok2api_jobs import (
    CANCELLED_CODE,
    EventType,
    InvalidJobIdError,
    JobEvent,
    JobQueue,
    JobStatus,
    JobTimeoutError,
    Order,
    events,
)
from job_expiry import Expiring


async def test_a_submitted_job_is_claimed_with_its_kind_payload_and_first_attempt(
    queue: JobQueue,
) -> None:
    payload = {"prompt": "un chat sur la lune 🌙", "n": 2, "size": {"w": 1024, "h": 768}}
    job_id = await queue.submit("test.echo", payload, headers={"traceparent": "00-abc-def-01"})

    [delivery] = await queue.claim(consumer="w1", count=10, block_ms=0)

    assert delivery.job.id == job_id
    assert delivery.job.kind == "test.echo"
    assert delivery.job.payload == payload
    assert delivery.job.attempt == 1
    assert delivery.job.headers == {"traceparent": "00-abc-def-01"}
    assert delivery.job.created_at > 0


async def test_claim_returns_nothing_after_blocking_on_an_empty_queue(queue: JobQueue) -> None:
    assert await queue.claim(consumer="w1", count=5, block_ms=20) == []


async def test_a_blocked_claim_wakes_up_when_a_job_arrives(queue: JobQueue) -> None:
    claiming = asyncio.create_task(queue.claim(consumer="w1", count=1, block_ms=5000))
    await asyncio.sleep(0.05)
    job_id = await queue.submit("test.echo", {})

    [delivery] = await asyncio.wait_for(claiming, timeout=5)
    assert delivery.job.id == job_id


async def test_claim_hands_out_at_most_count_jobs_in_submission_order(queue: JobQueue) -> None:
    ids = [await queue.submit("test.echo", {"i": i}) for i in range(5)]

    first = await queue.claim(consumer="w1", count=3, block_ms=0)
    rest = await queue.claim(consumer="w2", count=10, block_ms=0)

    assert [d.job.id for d in first] == ids[:3]
    assert [d.job.id for d in rest] == ids[3:]
    assert await queue.claim(consumer="w3", count=10, block_ms=0) == []


async def test_depth_counts_waiting_and_in_flight_jobs_until_acked(queue: JobQueue) -> None:
    for i in range(3):
        await queue.submit("test.echo", {"i": i})
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)

    depth = await queue.depth()
    assert (depth.waiting, depth.in_flight) == (2, 1)

    await queue.ack(delivery)
    await queue.ack(delivery)
    depth = await queue.depth()
    assert (depth.waiting, depth.in_flight) == (2, 0)


async def test_an_acked_job_is_never_reclaimed(queue: JobQueue) -> None:
    await queue.submit("test.echo", {})
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)
    await queue.ack(delivery)

    assert await queue.reclaim_stale(consumer="w2", min_idle_ms=0, count=10) == []


async def test_a_stale_job_is_reclaimed_by_another_worker_with_the_next_attempt(
    queue: JobQueue,
) -> None:
    job_id = await queue.submit("test.echo", {"x": 1})
    await queue.claim(consumer="dead", count=1, block_ms=0)
    await asyncio.sleep(0.03)

    [reclaimed] = await queue.reclaim_stale(consumer="w2", min_idle_ms=20, count=10)

    assert reclaimed.job.id == job_id
    assert reclaimed.job.payload == {"x": 1}
    assert reclaimed.job.attempt == 2
    assert await queue.reclaim_stale(consumer="w3", min_idle_ms=60_000, count=10) == []


async def test_a_job_idle_for_less_than_the_visibility_timeout_stays_with_its_worker(
    queue: JobQueue,
) -> None:
    await queue.submit("test.echo", {})
    await queue.claim(consumer="w1", count=1, block_ms=0)

    assert await queue.reclaim_stale(consumer="w2", min_idle_ms=60_000, count=10) == []


async def test_heartbeat_keeps_a_job_from_being_reclaimed(queue: JobQueue) -> None:
    await queue.submit("test.echo", {})
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)
    await asyncio.sleep(0.3)

    assert await queue.heartbeat(consumer="w1", deliveries=[delivery]) == [delivery]
    assert await queue.reclaim_stale(consumer="w2", min_idle_ms=250, count=10) == []


async def test_heartbeat_reports_a_job_that_another_worker_reclaimed(queue: JobQueue) -> None:
    await queue.submit("test.echo", {})
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)
    await asyncio.sleep(0.02)
    [stolen] = await queue.reclaim_stale(consumer="w2", min_idle_ms=10, count=1)

    assert await queue.heartbeat(consumer="w1", deliveries=[delivery]) == []
    assert await queue.heartbeat(consumer="w2", deliveries=[stolen]) == [stolen]


async def test_events_replay_from_the_start_and_end_after_the_terminal_event(
    queue: JobQueue,
) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({"percent": 10}))
    await queue.publish_event(job_id, events.progress({"percent": 90}))
    await queue.publish_event(job_id, events.result({"url": "/files/a.png"}))

    seen = [event async for event in queue.events(job_id)]
    again = [event async for event in queue.events(job_id)]

    assert [(e.type, dict(e.data)) for e in seen] == [
        (EventType.PROGRESS, {"percent": 10}),
        (EventType.PROGRESS, {"percent": 90}),
        (EventType.RESULT, {"url": "/files/a.png"}),
    ]
    assert again == seen


async def test_a_subscriber_receives_events_published_after_it_started(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})

    async def collect() -> list[EventType]:
        return [event.type async for event in queue.events(job_id)]

    collecting = asyncio.create_task(collect())
    await asyncio.sleep(0.05)
    await queue.publish_event(job_id, events.progress({"step": 1}))
    await asyncio.sleep(0.02)
    await queue.publish_event(job_id, events.error(code="boom", message="it broke"))

    assert await asyncio.wait_for(collecting, timeout=10) == [EventType.PROGRESS, EventType.ERROR]


async def test_only_the_first_terminal_event_is_written(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})

    first = await queue.publish_event(job_id, events.result({"by": "w1"}))
    second = await queue.publish_event(job_id, events.result({"by": "w2"}))
    late_progress = await queue.publish_event(job_id, events.progress({"by": "w2"}))

    assert (first, second, late_progress) == (True, False, False)
    assert [dict(e.data) async for e in queue.events(job_id)] == [{"by": "w1"}]
    assert await queue.finished(job_id)


async def test_racing_workers_finish_a_job_exactly_once(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})

    written = await asyncio.gather(
        *(queue.publish_event(job_id, events.result({"by": i})) for i in range(8))
    )

    assert sorted(written) == [False] * 7 + [True]
    [final] = [event async for event in queue.events(job_id)]
    assert final.data == {"by": written.index(True)}


async def test_wait_returns_the_terminal_event(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({"percent": 50}))

    waiting = asyncio.create_task(queue.wait(job_id, timeout=10))
    await asyncio.sleep(0.02)
    await queue.publish_event(job_id, events.error(code="upstream", message="rate limited"))

    final = await waiting
    assert final.type is EventType.ERROR
    assert final.data == {"code": "upstream", "message": "rate limited"}


async def test_wait_returns_a_terminal_event_published_before_it_started(
    queue: JobQueue,
) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({"percent": 50}))
    await queue.publish_event(job_id, events.result({"url": "/files/a.png"}))

    final = await queue.wait(job_id, timeout=0.5)

    assert final.type is EventType.RESULT
    assert final.data == {"url": "/files/a.png"}


async def test_wait_times_out_when_no_terminal_event_arrives(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({"percent": 1}))

    with pytest.raises(JobTimeoutError, match=job_id):
        await queue.wait(job_id, timeout=0.1)


async def test_an_unfinished_job_is_not_finished(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({}))

    assert not await queue.finished(job_id)


@pytest.mark.parametrize("bad_id", ["", "../etc", "job:{x}:events", "A" * 32, "0" * 31])
async def test_a_malformed_job_id_is_rejected(queue: JobQueue, bad_id: str) -> None:
    with pytest.raises(InvalidJobIdError):
        await queue.publish_event(bad_id, events.progress({}))
    with pytest.raises(InvalidJobIdError):
        await queue.wait(bad_id, timeout=1)


# --- records: status, progress and timestamps, changed with each event --------------------


async def test_a_submitted_job_has_a_queued_record_with_its_metadata_and_owner(
    queue: JobQueue,
) -> None:
    metadata = {"model": "grok-video", "prompt": "la mer 🌊", "size": "1280x720", "seconds": 6}
    job_id = await queue.submit("test.video", {"p": 1}, metadata=metadata, owner="key-1")

    record = await queue.record(job_id)

    assert record is not None
    assert (record.id, record.kind, record.owner) == (job_id, "test.video", "key-1")
    assert record.metadata == metadata
    assert (record.status, record.progress) == (JobStatus.QUEUED, 0)
    assert record.updated_at == record.created_at > 0
    assert (record.started_at, record.finished_at, record.result, record.error) == (None,) * 4
    assert record.expires_at > record.updated_at


async def test_a_job_submitted_without_metadata_or_owner_has_empty_ones(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})

    record = await queue.record(job_id)

    assert record is not None
    assert (record.metadata, record.owner) == ({}, "")


async def test_metadata_that_is_not_json_is_refused_before_anything_is_queued(
    queue: JobQueue,
) -> None:
    with pytest.raises(TypeError):
        await queue.submit("test.echo", {}, metadata={"when": object()})

    assert (await queue.depth()).waiting == 0
    assert await queue.records("test.echo") == []


async def test_an_unknown_job_has_no_record(queue: JobQueue) -> None:
    assert await queue.record(uuid.uuid4().hex) is None
    with pytest.raises(InvalidJobIdError):
        await queue.record("../x")


def _at(event_type: EventType, data: dict[str, Any], at: float) -> JobEvent:
    return JobEvent(type=event_type, data=data, at=at)


async def test_the_record_follows_progress_then_the_result(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    created = await queue.record(job_id)
    assert created is not None
    t0 = created.created_at

    await queue.publish_event(job_id, _at(EventType.PROGRESS, {"progress": 30}, t0 + 1))
    first = await queue.record(job_id)
    await queue.publish_event(job_id, _at(EventType.PROGRESS, {"progress": 55}, t0 + 2))
    for not_a_percentage in ("60", 101, -1, True, 42.5, None):
        await queue.publish_event(
            job_id, _at(EventType.PROGRESS, {"progress": not_a_percentage}, t0 + 3)
        )
    await queue.publish_event(job_id, _at(EventType.PROGRESS, {"stage": "upscaling"}, t0 + 4))
    running = await queue.record(job_id)
    await queue.publish_event(job_id, _at(EventType.RESULT, {"url": "/v1/files/v.mp4"}, t0 + 5))
    done = await queue.record(job_id)

    assert first is not None and running is not None and done is not None
    assert (first.status, first.progress, first.started_at) == (JobStatus.IN_PROGRESS, 30, t0 + 1)
    assert (running.status, running.progress) == (JobStatus.IN_PROGRESS, 55)
    assert (running.started_at, running.updated_at, running.finished_at) == (t0 + 1, t0 + 4, None)
    assert (done.status, done.progress, done.result) == (
        JobStatus.COMPLETED,
        100,
        {"url": "/v1/files/v.mp4"},
    )
    assert (done.started_at, done.updated_at, done.finished_at) == (t0 + 1, t0 + 5, t0 + 5)
    assert done.error is None
    assert done.created_at == t0
    assert done.expires_at - done.updated_at == created.expires_at - created.updated_at


async def test_an_error_event_fails_the_job_and_keeps_its_last_progress(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.progress({"progress": 40}))
    await queue.publish_event(job_id, events.error(code="upstream", message="rate limited"))
    await queue.publish_event(job_id, events.result({"late": True}))

    record = await queue.record(job_id)

    assert record is not None
    assert (record.status, record.progress) == (JobStatus.FAILED, 40)
    assert record.error == {"code": "upstream", "message": "rate limited"}
    assert record.result is None
    assert record.finished_at is not None and record.started_at is not None
    assert record.started_at <= record.finished_at == record.updated_at


async def test_a_job_that_ends_without_progress_has_no_start_time(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.error(code="unknown_kind", message="no handler"))

    record = await queue.record(job_id)

    assert record is not None
    assert (record.status, record.started_at) == (JobStatus.FAILED, None)
    assert record.finished_at is not None


# --- cancel -------------------------------------------------------------------------------


async def test_cancelling_a_queued_job_ends_it_for_its_waiters_and_its_worker(
    queue: JobQueue,
) -> None:
    job_id = await queue.submit("test.echo", {})
    waiting = asyncio.create_task(queue.wait(job_id, timeout=10))
    await asyncio.sleep(0.05)

    assert await queue.cancel(job_id, message="the client went away")

    final = await waiting
    assert (final.type, dict(final.data)) == (
        EventType.ERROR,
        {"code": "cancelled", "message": "the client went away"},
    )
    record = await queue.record(job_id)
    assert record is not None
    assert record.status is JobStatus.CANCELLED
    assert record.error == {"code": CANCELLED_CODE, "message": "the client went away"}
    assert record.finished_at is not None and record.started_at is None
    # Still in the stream: whoever claims it finds it finished (and so does not run it).
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)
    assert delivery.job.id == job_id
    assert await queue.finished(job_id)


async def test_cancelling_a_running_job_drops_its_workers_later_events(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})
    [delivery] = await queue.claim(consumer="w1", count=1, block_ms=0)
    await queue.publish_event(job_id, events.progress({"progress": 20}))

    assert await queue.cancel(job_id)
    late_progress = await queue.publish_event(job_id, events.progress({"progress": 90}))
    late_result = await queue.publish_event(job_id, events.result({"url": "/x.png"}))
    await queue.ack(delivery)

    assert (late_progress, late_result) == (False, False)
    record = await queue.record(job_id)
    assert record is not None
    assert (record.status, record.progress, record.result) == (JobStatus.CANCELLED, 20, None)
    assert record.error is not None and record.error["code"] == "cancelled"
    assert record.error["message"]
    assert [e.type async for e in queue.events(job_id)] == [EventType.PROGRESS, EventType.ERROR]


async def test_cancelling_an_ended_or_unknown_job_changes_nothing(queue: JobQueue) -> None:
    done = await queue.submit("test.echo", {})
    await queue.publish_event(done, events.result({"ok": True}))
    cancelled = await queue.submit("test.echo", {})
    assert await queue.cancel(cancelled)
    unknown = uuid.uuid4().hex

    assert not await queue.cancel(done)
    assert not await queue.cancel(cancelled)
    assert not await queue.cancel(unknown)

    record = await queue.record(done)
    assert record is not None and record.status is JobStatus.COMPLETED
    assert [e.type async for e in queue.events(done)] == [EventType.RESULT]
    assert await queue.record(unknown) is None
    assert not await queue.finished(unknown)
    with pytest.raises(InvalidJobIdError):
        await queue.cancel("not-an-id")


async def test_of_racing_cancels_and_results_exactly_one_ends_the_job(queue: JobQueue) -> None:
    job_id = await queue.submit("test.echo", {})

    cancels = [queue.cancel(job_id) for _ in range(4)]
    results = [queue.publish_event(job_id, events.result({"i": i})) for i in range(4)]
    outcomes = await asyncio.gather(*cancels, *results)

    assert outcomes.count(True) == 1
    record = await queue.record(job_id)
    assert record is not None
    won_by_cancel = outcomes.index(True) < 4
    assert record.status is (JobStatus.CANCELLED if won_by_cancel else JobStatus.COMPLETED)


# --- delete -------------------------------------------------------------------------------


async def test_deleting_a_running_job_cancels_it_and_forgets_it(queue: JobQueue) -> None:
    job_id = await queue.submit("test.video", {}, owner="key-1")
    await queue.publish_event(job_id, events.progress({"progress": 10}))
    waiting = asyncio.create_task(queue.wait(job_id, timeout=10))
    await asyncio.sleep(0.05)

    assert await queue.delete(job_id)

    assert (await waiting).data["code"] == "cancelled"
    assert await queue.record(job_id) is None
    assert await queue.records("test.video") == []
    assert await queue.records("test.video", owner="key-1") == []
    assert not await queue.publish_event(job_id, events.result({"late": True}))
    # The job stays finished, so a worker that claims it afterwards does not run it.
    assert await queue.finished(job_id)
    assert await queue.finished_among([job_id]) == {job_id}
    assert not await queue.delete(job_id)


async def test_deleting_a_finished_job_keeps_its_outcome_from_being_rewritten(
    queue: JobQueue,
) -> None:
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.result({"ok": True}))
    other = await queue.submit("test.echo", {})

    assert await queue.delete(job_id)
    assert not await queue.delete(uuid.uuid4().hex)

    assert await queue.record(job_id) is None
    assert [record.id for record in await queue.records("test.echo")] == [other]
    assert not await queue.cancel(job_id)


# --- records(): one kind's jobs, by creation time, a page at a time ----------------------


async def _submitted(queue: JobQueue, kind: str, owners: list[str]) -> list[str]:
    """Job ids in creation order (ties broken by id, as both backends order them)."""
    ids = [await queue.submit(kind, {"n": n}, owner=owner) for n, owner in enumerate(owners)]
    found = [await queue.record(job_id) for job_id in ids]
    return [r.id for r in sorted(filter(None, found), key=lambda r: (r.created_at, r.id))]


async def test_records_lists_a_kinds_jobs_newest_first_by_default(queue: JobQueue) -> None:
    ids = await _submitted(queue, "test.video", ["a", "b", "a"])
    await queue.submit("test.image", {})

    listed = await queue.records("test.video")

    assert [record.id for record in listed] == ids[::-1]
    assert {record.kind for record in listed} == {"test.video"}
    assert [r.id for r in await queue.records("test.video", order="asc")] == ids
    assert await queue.records("test.none") == []


async def test_records_pages_with_after_and_limit_in_both_orders(queue: JobQueue) -> None:
    ids = await _submitted(queue, "test.video", [""] * 5)

    async def pages(order: Order) -> list[list[str]]:
        found: list[list[str]] = []
        after = None
        while page := await queue.records("test.video", limit=2, after=after, order=order):
            found.append([record.id for record in page])
            after = page[-1].id
        return found

    assert await pages("desc") == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert await pages("asc") == [ids[0:2], ids[2:4], ids[4:]]
    assert [r.id for r in await queue.records("test.video", after=ids[1], order="asc")] == ids[2:]
    assert await queue.records("test.video", limit=100, after=ids[0]) == []


async def test_records_filters_by_owner_and_pages_within_the_owners_jobs(
    queue: JobQueue,
) -> None:
    ids = await _submitted(queue, "test.video", ["a", "b", "a", "b", "a"])
    of_a = [ids[0], ids[2], ids[4]]

    first = await queue.records("test.video", owner="a", limit=2)
    rest = await queue.records("test.video", owner="a", limit=2, after=first[-1].id)

    assert [r.id for r in first] == [of_a[2], of_a[1]]
    assert [r.id for r in rest] == [of_a[0]]
    assert {r.owner for r in first + rest} == {"a"}
    assert [r.id for r in await queue.records("test.video", owner="")] == []
    assert len(await queue.records("test.video", owner=None, limit=100)) == 5


async def test_records_after_a_job_it_does_not_list_is_empty(queue: JobQueue) -> None:
    ids = await _submitted(queue, "test.video", ["a", "b", "a"])
    image = await queue.submit("test.image", {})

    assert await queue.records("test.video", after=uuid.uuid4().hex) == []
    assert await queue.records("test.video", after=image) == []
    assert await queue.records("test.video", owner="a", after=ids[1]) == []  # b's job
    with pytest.raises(InvalidJobIdError):
        await queue.records("test.video", after="../etc")
    with pytest.raises(ValueError, match="limit"):
        await queue.records("test.video", limit=0)


async def test_records_show_each_jobs_current_state(queue: JobQueue) -> None:
    done, running, waiting = await _submitted(queue, "test.video", ["", "", ""])
    await queue.publish_event(done, events.result({"ok": 1}))
    await queue.publish_event(running, events.progress({"progress": 70}))

    listed = await queue.records("test.video", order="asc")

    assert [(r.status, r.progress) for r in listed] == [
        (JobStatus.COMPLETED, 100),
        (JobStatus.IN_PROGRESS, 70),
        (JobStatus.QUEUED, 0),
    ]
    assert [r.id for r in listed] == [done, running, waiting]


# --- finished_among and expiry ------------------------------------------------------------


async def test_finished_among_names_the_jobs_that_have_ended(queue: JobQueue) -> None:
    completed, cancelled, running, waiting = await _submitted(queue, "test.echo", [""] * 4)
    await queue.publish_event(completed, events.result({}))
    await queue.cancel(cancelled)
    await queue.publish_event(running, events.progress({"progress": 5}))
    unknown = uuid.uuid4().hex

    ended = await queue.finished_among([completed, cancelled, running, waiting, unknown])

    assert ended == {completed, cancelled}
    assert await queue.finished_among([]) == set()
    with pytest.raises(InvalidJobIdError):
        await queue.finished_among([completed, "nope"])


async def test_an_expired_job_is_forgotten_with_its_record_and_listing(
    expiring: Expiring,
) -> None:
    queue = expiring.queue
    finished = await queue.submit("test.video", {}, owner="a")
    await queue.publish_event(finished, events.result({"ok": True}))
    queued = await queue.submit("test.video", {}, owner="a")

    await expiring.expire(finished)
    await expiring.expire(queued)
    fresh = await queue.submit("test.video", {}, owner="a")

    assert await queue.record(finished) is None
    assert await queue.record(queued) is None
    assert await queue.finished_among([finished, queued]) == set()
    assert [r.id for r in await queue.records("test.video")] == [fresh]
    assert [r.id for r in await queue.records("test.video", owner="a", order="asc")] == [fresh]
    assert await queue.records("test.video", after=finished) == []
    assert not await queue.cancel(queued)
    assert not await queue.delete(finished)
