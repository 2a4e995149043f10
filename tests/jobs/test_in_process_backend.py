"""What only the in-process backend does: expiring old event logs on its own clock, waking
a ``wait`` for the terminal event alone, and keeping finished jobs cheaply."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest
from grok2api_jobs import InProcessJobQueue, JobTimeoutError, events


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_finished_jobs_are_forgotten_after_the_events_ttl() -> None:
    clock = FakeClock()
    queue = InProcessJobQueue(events_ttl=60, clock=clock)
    job_id = await queue.submit("test.echo", {})
    await queue.publish_event(job_id, events.result({}))
    assert await queue.finished(job_id)

    clock.now += 61
    await queue.submit("test.echo", {})

    assert not await queue.finished(job_id)


async def test_recent_jobs_survive_pruning() -> None:
    clock = FakeClock()
    queue = InProcessJobQueue(events_ttl=60, clock=clock)
    old = await queue.submit("test.echo", {})
    await queue.publish_event(old, events.result({}))
    clock.now += 50
    recent = await queue.submit("test.echo", {})
    await queue.publish_event(recent, events.result({}))

    clock.now += 20
    await queue.submit("test.echo", {})

    assert not await queue.finished(old)
    assert await queue.finished(recent)


async def test_a_jobs_record_lives_for_the_ttl_after_its_last_change() -> None:
    clock = FakeClock()
    queue = InProcessJobQueue(events_ttl=60, clock=clock)
    job_id = await queue.submit("test.echo", {})
    clock.now += 50
    await queue.publish_event(job_id, events.progress({"progress": 10}))

    clock.now += 50
    assert await queue.record(job_id) is not None
    assert [r.id for r in await queue.records("test.echo")] == [job_id]

    clock.now += 11
    assert await queue.record(job_id) is None
    assert await queue.records("test.echo") == []


async def test_wait_is_woken_by_the_terminal_event_alone() -> None:
    queue = InProcessJobQueue()
    job_id = await queue.submit("test.echo", {})
    waiters = [asyncio.create_task(queue.wait(job_id, timeout=10)) for _ in range(3)]
    timed_out = asyncio.create_task(queue.wait(job_id, timeout=0.01))
    await asyncio.sleep(0)
    with pytest.raises(JobTimeoutError):
        await timed_out
    state = queue._jobs[job_id]
    assert not isinstance(state, tuple)  # a live job's state, not a finished job's bytes
    assert len(state.waiters) == 3  # one future per waiting call; the timed-out one is gone

    for percent in range(50):
        await queue.publish_event(job_id, events.progress({"progress": percent}))
    await asyncio.sleep(0)
    assert not any(task.done() for task in waiters)
    assert len(state.waiters) == 3  # progress resolves none of them

    await queue.publish_event(job_id, events.result({"ok": True}))
    finals = await asyncio.gather(*waiters)
    assert [final.data for final in finals] == [{"ok": True}] * 3
    assert state.waiters == []
    # A finished job answers at once, with the same terminal event.
    assert (await queue.wait(job_id, timeout=0.01)).data == {"ok": True}


class CountingCondition(asyncio.Condition):
    def __init__(self) -> None:
        super().__init__()
        self.notified = 0

    def notify_all(self) -> None:
        self.notified += 1
        super().notify_all()


async def test_events_reach_followers_without_waking_anyone_when_none_follows() -> None:
    queue = InProcessJobQueue()
    job_id = await queue.submit("test.echo", {})
    state = queue._jobs[job_id]
    assert not isinstance(state, tuple)  # a live job's state, not a finished job's bytes
    state.changed = condition = CountingCondition()

    await queue.publish_event(job_id, events.progress({"progress": 10}))
    assert condition.notified == 0  # nobody follows: the condition is left alone

    seen: list[object] = []

    async def follow() -> None:
        async for event in queue.events(job_id):
            seen.append(event.data)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    assert state.followers == 1
    await queue.publish_event(job_id, events.progress({"progress": 20}))
    await queue.publish_event(job_id, events.result({"ok": True}))
    await asyncio.wait_for(follower, 1)
    assert seen == [{"progress": 10}, {"progress": 20}, {"ok": True}]
    assert condition.notified == 2
    assert state.followers == 0


RESULT = {"files": [{"id": "a" * 32 + ".png", "bytes": 123_456, "ratio": 1.5}], "n": 1}


async def _finish_jobs(queue: InProcessJobQueue, count: int) -> None:
    """Submit ``count`` jobs and run each to its result as a worker does."""
    for n in range(count):
        job_id = await queue.submit("test.echo", {"prompt": f"job {n}"}, owner="key-1")
        [delivery] = await queue.claim(consumer="worker-1", count=1, block_ms=0)
        await queue.publish_event(job_id, events.progress({"progress": 40, "stage": "rendering"}))
        await queue.publish_event(job_id, events.result(RESULT))
        await queue.ack(delivery)


async def test_finished_jobs_give_the_garbage_collector_nothing_to_walk() -> None:
    # A day's worth of kept records must not grow every full collection (which stops the
    # event loop): a finished job leaves no object the collector tracks.
    queue = InProcessJobQueue(events_ttl=86_400)
    await _finish_jobs(queue, 1)  # warm up
    gc.collect()
    tracked_before = len(gc.get_objects())
    await _finish_jobs(queue, 500)
    gc.collect()
    assert len(gc.get_objects()) - tracked_before < 50  # was 17 per job
    assert len(await queue.records("test.echo", limit=1000)) == 501


async def test_a_finished_job_keeps_little_more_than_its_json() -> None:
    queue = InProcessJobQueue(events_ttl=86_400)
    jobs = 200
    tracemalloc.start()
    try:
        before, _peak = tracemalloc.get_traced_memory()
        await _finish_jobs(queue, jobs)
        gc.collect()
        per_job = (tracemalloc.get_traced_memory()[0] - before) / jobs
    finally:
        tracemalloc.stop()
    assert per_job < 2500, per_job  # about 1.5 kB; was 9 kB (orjson's 4 kB buffers, kept)


async def test_a_finished_job_reads_back_exactly_as_it_ended() -> None:
    queue = InProcessJobQueue()
    job_id = await queue.submit("test.echo", {"prompt": "p"}, metadata={"model": "m", "n": 2})
    await queue.publish_event(job_id, events.progress({"progress": 40, "stage": "rendering"}))
    follower = queue.events(job_id)
    first = await anext(follower)
    await queue.publish_event(job_id, events.result(RESULT))
    live_record = await queue.record(job_id)  # a reader still follows: kept as it was
    live_events = [first] + [event async for event in follower]  # the last reader leaves
    assert live_record is not None and live_record.result == RESULT
    assert [event.type for event in live_events] == ["progress", "result"]

    assert await queue.record(job_id) == live_record
    assert [event async for event in queue.events(job_id)] == live_events
    assert await queue.wait(job_id, timeout=1) == live_events[-1]
    assert await queue.finished(job_id)
    assert await queue.records("test.echo") == [live_record]
    assert await queue.delete(job_id)
    assert await queue.record(job_id) is None
    assert await queue.finished(job_id)  # the tombstone, as in Redis
