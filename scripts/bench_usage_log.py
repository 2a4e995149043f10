"""Usage-record pipeline benchmark: ``UsageLog`` → Redis list → ``UsageDrainer`` → PostgreSQL
(a split deployment), and ``UsageLog`` → ``StoreSink`` → SQLite (the single-process mode).

    uv run python scripts/bench_usage_log.py [--seconds 20] [--rate 2000] [--drainers 1]
        [--sink queue|store|both] [--redis redis://127.0.0.1:6379/0] [--pg-host 127.0.0.1]
        [--pg-port 5432]

``--sink store`` runs the same phases through ``StoreSink`` into a scratch SQLite file (the
backlog column is then the records buffered in the log); ``both`` runs the queue, then the
store.

Creates a scratch PostgreSQL database (dropped at the end) and a unique Redis key prefix
(deleted at the end), then in this one process, as a gateway process runs them:

1. paced: ``record()`` at ``--rate`` records/s for ``--seconds``;
2. flat out: ``record()`` as fast as the loop allows for ``--seconds`` (yielding to the
   loop after every 100 records, as request handlers do, so the flusher and the drainer,
   which share this loop, get their turn);

printing each second the records accepted, written to the store (newly stored) and the
backlog, then the time to drain what is left and the process's CPU time per record (the
hot-path ``record()`` and the background writing together: what the gateway process pays).
Finally (queue) the CPU time per ``record()`` call on the hot path (``time.process_time``
over a million calls; the flusher is not running, so this is the cost a request pays), and
per UsageRecord construction + call.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import redis.asyncio as aioredis
from gateway.usage_log import (
    RedisUsageQueue,
    StoreSink,
    UsageDrainer,
    UsageKeys,
    UsageLog,
    metrics,
)
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import factory
from grok2api_storage.records import UsageRecord


def make(n: int) -> UsageRecord:
    return UsageRecord(
        id=uuid.uuid4().hex,
        timestamp=datetime.now(UTC),
        key_id=f"key{n % 20:029d}",
        model="grok-4",
        endpoint="/v1/chat/completions",
        status=200,
        prompt_tokens=120,
        completion_tokens=480,
        cost_units=1,
        latency_ms=842.5,
        ttft_ms=210.0,
        account_tier="super",
        request_id=uuid.uuid4().hex,
    )


def written() -> float:
    return float(metrics.WRITTEN.labels("store")._value.get())


async def pg_admin(host: str, port: int) -> asyncpg.Connection:
    for user in ("postgres", "root"):
        try:
            return await asyncpg.connect(host=host, port=port, user=user, database="test")
        except (asyncpg.PostgresError, OSError):
            continue
    raise SystemExit(f"PostgreSQL on {host}:{port} refused users postgres and root")


async def phase(
    name: str,
    usage_log: UsageLog,
    backlog: Callable[[], Awaitable[int]],
    *,
    seconds: float,
    rate: float | None,
) -> None:
    print(f"\n== {name}: {f'{rate:.0f} records/s' if rate else 'as fast as possible'}")
    print(f"{'t (s)':>6} {'accepted/s':>11} {'written/s':>10} {'backlog':>8} {'buffered':>9}")
    loop = asyncio.get_running_loop()
    start = loop.time()
    accepted = 0
    last_accepted, last_written, last_t = 0, written(), start
    next_report = start + 1
    total_written_at_start = written()
    dropped_at_start = usage_log.dropped
    n = 0
    cpu_at_start = time.process_time()
    while (now := loop.time()) - start < seconds:
        if rate:
            due = int((now - start) * rate)
            while n < due:
                usage_log.record(make(n))
                n += 1
            accepted = n
            await asyncio.sleep(0.005)
        else:
            for _ in range(100):
                usage_log.record(make(n))
                n += 1
            accepted = n
            await asyncio.sleep(0)
        if now >= next_report:
            w = written()
            waiting = await backlog()
            dt = now - last_t
            print(
                f"{now - start:6.1f} {(accepted - last_accepted) / dt:11.0f} "
                f"{(w - last_written) / dt:10.0f} {waiting:8d} {usage_log.buffered:9d}"
            )
            last_accepted, last_written, last_t = accepted, w, now
            next_report += 1
    elapsed = loop.time() - start
    done_at = loop.time()
    dropped = usage_log.dropped - dropped_at_start
    left = n - dropped - (written() - total_written_at_start)
    while written() - total_written_at_start < n - dropped:
        await asyncio.sleep(0.05)
        if loop.time() - done_at > 300:
            print("!! not drained after 300 s")
            break
    drain_time = loop.time() - done_at
    total = written() - total_written_at_start
    cpu = time.process_time() - cpu_at_start
    print(
        f"accepted {n} in {elapsed:.1f} s ({n / elapsed:.0f}/s), dropped {dropped}; "
        f"written {total:.0f} ({total / (loop.time() - start):.0f}/s overall); "
        f"the {left:.0f} left at the end drained in {drain_time:.2f} s"
        + (f" ({left / drain_time:.0f}/s)" if drain_time > 0.5 else "")
        + f"; process CPU {cpu * 1e6 / max(n, 1):.1f} µs per record"
    )


def hot_path_cost(settings: LiveSettings) -> None:
    class NullSink:
        stage = "queue"

        async def write(self, batch: object) -> None:
            return None

    calls = 1_000_000
    records = [make(n) for n in range(calls)]
    usage_log = UsageLog(NullSink(), settings=settings, max_buffered=2 * calls)
    began = time.process_time()
    for record in records:
        usage_log.record(record)
    per_call = (time.process_time() - began) / calls * 1e6
    usage_log = UsageLog(NullSink(), settings=settings, max_buffered=2 * calls)
    began = time.process_time()
    for n in range(calls // 10):
        usage_log.record(make(n))
    with_build = (time.process_time() - began) / (calls // 10) * 1e6
    print(
        f"\nCPU per record() call: {per_call:.3f} µs; building the UsageRecord (2 uuid4, "
        f"datetime.now) + record(): {with_build:.2f} µs"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--drainers", type=int, default=1)
    parser.add_argument("--sink", choices=("queue", "store", "both"), default="queue",
                        help="queue: Redis list + drainer into PostgreSQL; store: StoreSink "
                        "into SQLite; both: one then the other")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.sink in ("queue", "both"):
        await through_queue(args)
    if args.sink in ("store", "both"):
        await through_store(args)


async def through_queue(args: argparse.Namespace) -> None:
    """UsageLog → RedisUsageQueue → UsageDrainer(s) → a scratch PostgreSQL database."""
    name = f"g2a_bench_usage_{uuid.uuid4().hex[:8]}"
    admin = await pg_admin(args.pg_host, args.pg_port)
    user = admin.get_settings().session_authorization or "postgres"
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = LiveSettings(
        Settings.model_validate(
            {
                "server": {
                    "storage_type": "pgsql",
                    "storage_url": f"postgresql://{user}@{args.pg_host}:{args.pg_port}/{name}",
                },
            }
        )
    )
    keys = UsageKeys(prefix=f"g2a-bench:{uuid.uuid4().hex[:8]}:usage:")
    redis = aioredis.Redis.from_url(args.redis)
    store = await factory.open_store(settings.current)

    async def backlog() -> int:
        return int(await redis.llen(keys.pending))  # type: ignore[misc]

    try:
        await store.migrate()
        usage_log = UsageLog(RedisUsageQueue(redis, keys=keys), settings=settings)
        drainers = [
            UsageDrainer(aioredis.Redis.from_url(args.redis), store, settings=settings, keys=keys)
            for _ in range(args.drainers)
        ]
        usage_log.start()
        for drainer in drainers:
            drainer.start()
        print(
            f"queue: flush interval {settings.current.usage.flush_interval_seconds} s, "
            f"{args.drainers} drainer(s), PostgreSQL {args.pg_host}:{args.pg_port}; "
            "backlog = the Redis list"
        )
        await phase("paced", usage_log, backlog, seconds=args.seconds, rate=args.rate)
        await phase("flat out", usage_log, backlog, seconds=args.seconds, rate=None)
        await usage_log.aclose()
        for drainer in drainers:
            await drainer.aclose()
        hot_path_cost(settings)
    finally:
        await store.aclose()
        stale = [key async for key in redis.scan_iter(match=f"{keys.prefix}*")]
        if stale:
            await redis.delete(*stale)
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def through_store(args: argparse.Namespace) -> None:
    """UsageLog → StoreSink → a scratch SQLite file (the single-process mode's path)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = LiveSettings(Settings.model_validate({"data_dir": data_dir}))
        store = await factory.open_store(settings.current)
        try:
            await store.migrate()
            usage_log = UsageLog(StoreSink(store), settings=settings)

            async def backlog() -> int:
                return usage_log.buffered

            usage_log.start()
            print(
                f"\nstore: flush interval {settings.current.usage.flush_interval_seconds} s, "
                "SQLite in a scratch folder; backlog = the records buffered in the log"
            )
            await phase("paced", usage_log, backlog, seconds=args.seconds, rate=args.rate)
            await phase("flat out", usage_log, backlog, seconds=args.seconds, rate=None)
            await usage_log.aclose()
        finally:
            await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
