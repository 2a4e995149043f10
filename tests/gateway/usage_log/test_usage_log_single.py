"""``UsageLog`` in single-process mode: records go straight to the durable store."""

from __future__ import annotations

from pathlib import Path

from gateway.usage_log import Backoff, StoreSink, UsageLog, metrics
from grok2api_storage import protocols
from usage_support import (
    FlakySink,
    TcpForwarder,
    eventually,
    live_settings,
    make_record,
    metric,
    newest_per_key,
    stored,
)


async def test_recorded_requests_reach_the_store_with_key_last_use(
    sql_store_any: protocols.Store, tmp_path: Path
) -> None:
    store = sql_store_any
    first = (await store.client_keys.create(name="first")).record.id
    second = (await store.client_keys.create(name="second")).record.id
    records = [make_record(n, key_id=(first, second, None)[n % 3]) for n in range(1_234)]
    usage_log = UsageLog(StoreSink(store), settings=live_settings(tmp_path), batch_size=500)
    usage_log.start()
    try:
        for record in records:
            usage_log.record(record)

        async def all_stored() -> bool:
            return len(await stored(store)) == len(records)

        await eventually(all_stored, what="every record in the store")
    finally:
        await usage_log.aclose()
    assert sorted(await stored(store), key=lambda r: r.id) == sorted(records, key=lambda r: r.id)
    for key_id, newest in newest_per_key(records).items():
        key = await store.client_keys.get(key_id)
        assert key is not None and key.last_used_at == newest


async def test_aclose_writes_out_everything_still_buffered(
    pg_store: protocols.Store, tmp_path: Path
) -> None:
    # The interval is long: only aclose can hand these on.
    settings = live_settings(tmp_path, flush_interval_seconds=60)
    usage_log = UsageLog(StoreSink(pg_store), settings=settings, batch_size=100)
    usage_log.start()
    records = [make_record(n) for n in range(250)]
    for record in records:
        usage_log.record(record)
    await usage_log.aclose()
    assert {r.id for r in await stored(pg_store)} == {r.id for r in records}
    assert usage_log.buffered == 0
    # Recorded after close: counted as dropped, never raises.
    before = metric(metrics.DROPPED, "closed")
    usage_log.record(make_record(999))
    assert metric(metrics.DROPPED, "closed") == before + 1


async def test_store_unreachable_records_keep_being_accepted_and_arrive_once(
    pg_store_via_forwarder: protocols.Store, forwarder: TcpForwarder, tmp_path: Path
) -> None:
    store = pg_store_via_forwarder
    usage_log = UsageLog(
        StoreSink(store),
        settings=live_settings(tmp_path),
        batch_size=50,
        backoff=Backoff(initial=0.05, cap=0.2),
        write_timeout=5.0,
    )
    usage_log.start()
    try:
        before_outage = [make_record(n) for n in range(100)]
        for record in before_outage:
            usage_log.record(record)
        await eventually(
            lambda: _count_is(store, 100), what="the records from before the outage stored"
        )
        failures = metric(metrics.FLUSH_FAILURES, "store")
        forwarder.cut()
        during_outage = [make_record(n) for n in range(100, 400)]
        for record in during_outage:
            usage_log.record(record)

        async def failing() -> bool:
            return metric(metrics.FLUSH_FAILURES, "store") >= failures + 2

        await eventually(failing, what="flushes failing while the store is cut off")
        assert usage_log.buffered == len(during_outage)
        assert usage_log.dropped == 0
        forwarder.restore()
        await eventually(lambda: _count_is(store, 400), what="the buffered records stored")
    finally:
        await usage_log.aclose()
    assert sorted(r.id for r in await stored(store)) == sorted(
        r.id for r in before_outage + during_outage
    )


async def test_full_buffer_drops_the_oldest_counts_them_and_keeps_order(tmp_path: Path) -> None:
    sink = FlakySink()
    sink.down = True
    usage_log = UsageLog(
        sink,
        settings=live_settings(tmp_path),
        batch_size=10,
        max_buffered=100,
        backoff=Backoff(initial=0.01, cap=0.02),
    )
    usage_log.start()
    dropped_before = metric(metrics.DROPPED, "buffer_full")
    records = [make_record(n) for n in range(150)]
    try:
        for record in records:
            usage_log.record(record)
        assert usage_log.buffered == 100
        assert usage_log.dropped == 50
        assert metric(metrics.DROPPED, "buffer_full") == dropped_before + 50

        async def retried() -> bool:
            return metric(metrics.FLUSH_FAILURES, "store") > 0 and usage_log.buffered == 100

        await eventually(retried, what="a failed flush keeping its batch")
        # More records while a batch is being retried still drop only the oldest.
        extra = [make_record(n) for n in range(150, 160)]
        for record in extra:
            usage_log.record(record)
        assert usage_log.buffered == 100
        sink.down = False

        async def delivered() -> bool:
            return len(sink.received) == 100

        await eventually(delivered, what="the kept records delivered")
    finally:
        await usage_log.aclose()
    assert [r.id for r in sink.received] == [r.id for r in (records + extra)[60:]]


async def test_a_full_batch_is_handed_on_before_the_interval(tmp_path: Path) -> None:
    sink = FlakySink()
    usage_log = UsageLog(
        sink, settings=live_settings(tmp_path, flush_interval_seconds=60), batch_size=20
    )
    usage_log.start()
    try:
        for n in range(25):
            usage_log.record(make_record(n))

        async def handed_on() -> bool:
            return len(sink.received) == 25

        # The interval is a minute: reaching the batch size is what wakes the flusher.
        await eventually(handed_on, what="the buffer handed on once a batch was full")
        assert usage_log.buffered == 0
        for n in range(25, 28):
            usage_log.record(make_record(n))
    finally:
        await usage_log.aclose()
    assert [r.request_id for r in sink.received] == [f"req-{n}" for n in range(28)]


async def _count_is(store: protocols.Store, expected: int) -> bool:
    try:
        return len(await stored(store)) == expected
    except Exception:
        return False
