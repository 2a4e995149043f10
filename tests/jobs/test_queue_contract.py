"""The ``JobQueue`` contract: every test runs against the in-process and the Redis backend."""

from __future__ import annotations

import asyncio

import pytest
from grok2api_jobs import EventType, InvalidJobIdError, JobQueue, JobTimeoutError, events


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
