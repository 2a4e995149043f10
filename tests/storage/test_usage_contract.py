"""UsageRepository behaviours on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from grok2api_storage import errors, protocols
from grok2api_storage.records import UsageBucket, UsageFilter, UsageGrouping, UsageRecord

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def entry(
    minutes: float,
    *,
    number: int | None = None,
    key: str | None = "k1",
    model: str = "grok-4",
    endpoint: str = "/v1/chat/completions",
    status: int = 200,
) -> UsageRecord:
    n = int(minutes) if number is None else number
    return UsageRecord(
        id=f"r{n:06d}",
        timestamp=T0 + timedelta(minutes=minutes),
        key_id=key,
        model=model,
        endpoint=endpoint,
        status=status,
        prompt_tokens=n,
        completion_tokens=2 * n,
        cost_units=n % 3,
        latency_ms=10.25 * n,
    )


async def test_every_field_round_trips(store: protocols.Store) -> None:
    full = UsageRecord(
        id="0123456789abcdef0123456789abcdef",
        timestamp=datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=-5))),
        key_id="f" * 32,
        model="grok-4-heavy",
        endpoint="/v1/images/generations",
        status=429,
        error_code="rate_limit_exceeded",
        prompt_tokens=123,
        completion_tokens=4567,
        cost_units=8,
        latency_ms=1234.5678,
        ttft_ms=98.765,
        account_tier="heavy",
        request_id="req_abc",
    )
    bare = UsageRecord(
        id="x",
        timestamp=T0,
        key_id=None,
        model="grok-3",
        endpoint="/v1/models",
        status=200,
    )
    assert await store.usage.add_many([full, bare]) == 2
    listed = await store.usage.list()
    assert listed == (full, bare)
    assert listed[0].timestamp.utcoffset() == timedelta(0)
    assert (listed[1].ttft_ms, listed[1].error_code, listed[1].account_tier) == (None,) * 3


async def test_add_many_is_idempotent_by_id(store: protocols.Store) -> None:
    batch = [entry(m) for m in range(10)]
    assert await store.usage.add_many(batch) == 10
    assert await store.usage.add_many(batch) == 0
    assert await store.usage.add_many([*batch[5:], entry(10), entry(11)]) == 2
    assert await store.usage.add_many([entry(12), entry(12)]) == 1
    assert await store.usage.add_many([]) == 0
    assert [e.id for e in await store.usage.list()] == [f"r{m:06d}" for m in range(12, -1, -1)]


async def test_overlapping_batches_written_at_once_store_each_record_once(
    store: protocols.Store,
) -> None:
    batches = [[entry(m) for m in range(start, start + 600)] for start in (0, 300, 100, 450)]
    counts = await asyncio.gather(*(store.usage.add_many(batch) for batch in batches))
    assert sum(counts) == 1050
    listed = await store.usage.list(limit=5000)
    assert len(listed) == 1050 and len({e.id for e in listed}) == 1050


async def test_refuses_records_it_cannot_store(store: protocols.Store) -> None:
    good = entry(1)
    naive = UsageRecord(
        id="n", timestamp=datetime(2030, 1, 1), key_id=None, model="m", endpoint="/", status=200
    )
    for bad in (UsageRecord(**{**good.__dict__, "id": ""}), naive):
        with pytest.raises(errors.InvalidRecordError):
            await store.usage.add_many([good, bad])
    with pytest.raises(errors.InvalidRecordError):
        await store.usage.add_many([UsageRecord(**{**good.__dict__, "id": "x" * 65})])
    assert await store.usage.list() == ()
    long = UsageRecord(**{**good.__dict__, "model": "m" * 300, "request_id": "q" * 300})
    assert await store.usage.add_many([long]) == 1
    (stored,) = await store.usage.list()
    assert (stored.model, stored.request_id) == ("m" * 128, "q" * 128)


async def test_lists_newest_first_within_a_window_and_filters(store: protocols.Store) -> None:
    await store.usage.add_many([entry(m) for m in range(10)])
    await store.usage.add_many(
        [
            entry(3, number=100, key="k2", model="grok-3"),
            entry(3, number=101, key=None, endpoint="/v1/images/generations"),
        ]
    )
    window = await store.usage.list(
        filters=UsageFilter(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5))
    )
    assert [e.id for e in window] == ["r000004", "r000101", "r000100", "r000003", "r000002"]
    assert [e.id for e in await store.usage.list(limit=2)] == ["r000009", "r000008"]
    assert await store.usage.list(limit=0) == ()
    by_key = await store.usage.list(filters=UsageFilter(key_id="k2"))
    assert [e.id for e in by_key] == ["r000100"]
    by_model = await store.usage.list(
        filters=UsageFilter(model="grok-4", until=T0 + timedelta(minutes=4))
    )
    assert [e.id for e in by_model] == ["r000101", "r000003", "r000002", "r000001", "r000000"]
    by_endpoint = await store.usage.list(filters=UsageFilter(endpoint="/v1/images/generations"))
    assert [e.id for e in by_endpoint] == ["r000101"]


async def test_pages_by_keyset(store: protocols.Store) -> None:
    # Three records share each timestamp: the id breaks the tie.
    await store.usage.add_many(
        [entry(m // 3, number=m, key="k1" if m % 2 else "k2") for m in range(30)]
    )
    everything = await store.usage.list()
    assert [e.id for e in everything] == [f"r{m:06d}" for m in range(29, -1, -1)]
    pages: list[str] = []
    before: str | None = None
    while True:
        page = await store.usage.list(limit=4, before_id=before)
        if not page:
            break
        pages.extend(e.id for e in page)
        before = page[-1].id
    assert pages == [e.id for e in everything]
    filtered = UsageFilter(key_id="k1", until=T0 + timedelta(minutes=8))
    first = await store.usage.list(filters=filtered, limit=3)
    rest = await store.usage.list(filters=filtered, limit=100, before_id=first[-1].id)
    assert [e.id for e in first + rest] == [f"r{m:06d}" for m in range(23, 0, -2)]
    # paging from a record outside the window's end still respects the window
    late = await store.usage.list(filters=filtered, before_id="r000029")
    assert [e.id for e in late] == [e.id for e in first + rest]
    with pytest.raises(errors.NotFoundError):
        await store.usage.list(before_id="missing")


async def test_summary_groups_by_hour_and_day_in_utc(store: protocols.Store) -> None:
    day2 = datetime(2030, 1, 2, tzinfo=UTC)
    base = dict(key_id="k1", model="grok-4", endpoint="/v1/chat/completions")
    stamps = [
        datetime(2030, 1, 1, 22, 59, 59, 999999, tzinfo=UTC),
        datetime(2030, 1, 1, 23, 0, tzinfo=UTC),
        datetime(2030, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
        day2,
        # 00:30 UTC given as 19:30 the day before in UTC-5: counted in UTC's day 2
        datetime(2030, 1, 1, 19, 30, tzinfo=timezone(timedelta(hours=-5))),
    ]
    statuses = [200, 500, 404, 200, 399]
    await store.usage.add_many(
        [
            UsageRecord(
                id=f"h{i}",
                timestamp=stamp,
                status=status,
                prompt_tokens=1,
                completion_tokens=2,
                cost_units=3,
                latency_ms=1.5,
                **base,  # type: ignore[arg-type]
            )
            for i, (stamp, status) in enumerate(zip(stamps, statuses, strict=True))
        ]
    )
    hourly = await store.usage.summary(group_by=[UsageGrouping.HOUR])
    assert [(b.period, b.requests, b.errors) for b in hourly] == [
        (datetime(2030, 1, 1, 22, tzinfo=UTC), 1, 0),
        (datetime(2030, 1, 1, 23, tzinfo=UTC), 2, 2),
        (day2, 2, 0),
    ]
    assert all(b.period is not None and b.period.utcoffset() == timedelta(0) for b in hourly)
    assert all(b.key_id is None and b.model is None for b in hourly)
    daily = await store.usage.summary(group_by=[UsageGrouping.DAY])
    assert daily == (
        UsageBucket(
            period=T0,
            requests=3,
            errors=2,
            prompt_tokens=3,
            completion_tokens=6,
            cost_units=9,
            latency_ms_total=4.5,
        ),
        UsageBucket(
            period=day2,
            requests=2,
            errors=0,
            prompt_tokens=2,
            completion_tokens=4,
            cost_units=6,
            latency_ms_total=3.0,
        ),
    )
    windowed = await store.usage.summary(
        filters=UsageFilter(since=datetime(2030, 1, 1, 23, tzinfo=UTC), until=day2),
        group_by=[UsageGrouping.DAY],
    )
    assert [(b.period, b.requests) for b in windowed] == [(T0, 2)]
    with pytest.raises(errors.InvalidRecordError):
        await store.usage.summary(group_by=[UsageGrouping.DAY, UsageGrouping.HOUR])


async def test_summary_groups_by_key_model_and_endpoint(store: protocols.Store) -> None:
    await store.usage.add_many(
        [
            entry(1, key="k2", model="grok-3"),
            entry(2, key="k1", model="grok-4", status=429),
            entry(3, key=None, model="grok-4"),
            entry(4, key="k1", model="grok-3", endpoint="/v1/images/generations"),
            entry(5, key="k1", model="grok-4", status=500),
        ]
    )
    by_key = await store.usage.summary(group_by=[UsageGrouping.KEY])
    assert [(b.key_id, b.requests, b.errors, b.prompt_tokens) for b in by_key] == [
        (None, 1, 0, 3),
        ("k1", 3, 2, 11),
        ("k2", 1, 0, 1),
    ]
    assert by_key[1].latency_ms_total == pytest.approx(10.25 * 11)
    assert by_key[1].cost_units == 2 % 3 + 4 % 3 + 5 % 3
    by_key_model = await store.usage.summary(
        group_by=[UsageGrouping.KEY, UsageGrouping.MODEL],
        filters=UsageFilter(since=T0 + timedelta(minutes=2)),
    )
    assert [(b.key_id, b.model, b.requests) for b in by_key_model] == [
        (None, "grok-4", 1),
        ("k1", "grok-3", 1),
        ("k1", "grok-4", 2),
    ]
    by_endpoint = await store.usage.summary(
        group_by=[UsageGrouping.ENDPOINT], filters=UsageFilter(key_id="k1")
    )
    assert [(b.endpoint, b.requests) for b in by_endpoint] == [
        ("/v1/chat/completions", 2),
        ("/v1/images/generations", 1),
    ]
    by_model_day = await store.usage.summary(
        group_by=[UsageGrouping.MODEL, UsageGrouping.DAY], filters=UsageFilter(model="grok-3")
    )
    assert [(b.period, b.model, b.requests) for b in by_model_day] == [(T0, "grok-3", 2)]
    (overall,) = await store.usage.summary()
    assert (overall.requests, overall.errors, overall.completion_tokens) == (5, 2, 30)
    assert (overall.period, overall.key_id, overall.model, overall.endpoint) == (None,) * 4


async def test_summary_of_nothing(store: protocols.Store) -> None:
    assert await store.usage.summary() == (UsageBucket(),)
    assert await store.usage.summary(group_by=[UsageGrouping.KEY]) == ()


async def test_purges_records_older_than_a_cutoff(store: protocols.Store) -> None:
    await store.usage.add_many([entry(m) for m in range(5)])
    assert await store.usage.purge_before(T0 + timedelta(minutes=3)) == 3
    assert [e.prompt_tokens for e in await store.usage.list()] == [4, 3]
    assert await store.usage.purge_before(T0) == 0
    # a purged id can be written again (it is new to the store)
    assert await store.usage.add_many([entry(0)]) == 1
