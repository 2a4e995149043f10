"""``RedisJobQueue.records``: one page of a kind's records from its sorted-set index.

The index (``<prefix>jobs:kind:<kind>``) holds job ids scored by ``created_at``; ties are
ordered by id, as Redis orders them. A page is read in batches of index entries with their
records fetched in one pipeline per batch; ids whose record is gone (expired or deleted)
are skipped and removed from the index afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from . import redis_records
from .protocol import Order
from .records import JobRecord

# How many index entries one round trip reads, at least.
BATCH = 32


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def page(
    redis: aioredis.Redis,
    *,
    index_key: str,
    record_key: Callable[[str], str],
    owner: str | None,
    limit: int,
    after: str | None,
    order: Order,
) -> list[JobRecord]:
    """Up to ``limit`` records after ``after`` in ``order``; ``[]`` if ``after`` is not a
    listed job (of ``owner``, when given). ``record_key`` names a job's record hash and
    validates the id."""
    desc = order == "desc"
    start = 0
    gone: list[str] = []
    if after is not None:
        after_key = record_key(after)
        async with redis.pipeline(transaction=False) as pipe:
            (pipe.zrevrank if desc else pipe.zrank)(index_key, after)
            pipe.hgetall(after_key)
            rank, raw = await pipe.execute()
        cursor = redis_records.decode(raw)
        if rank is not None and cursor is None:
            await redis.zrem(index_key, after)
        if rank is None or cursor is None or not _visible(cursor, owner):
            return []
        start = int(rank) + 1
    listed: list[JobRecord] = []
    batch = max(limit, BATCH)
    while len(listed) < limit:
        ids = [_text(member) for member in await _ids(redis, index_key, start, batch, desc)]
        start += len(ids)
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(record_key(job_id))
            raws = await pipe.execute() if ids else []
        for job_id, raw in zip(ids, raws, strict=True):
            record = redis_records.decode(raw)
            if record is None:
                gone.append(job_id)
            elif _visible(record, owner) and len(listed) < limit:
                listed.append(record)
        if len(ids) < batch:
            break
    if gone:
        await redis.zrem(index_key, *gone)
    return listed


async def _ids(redis: aioredis.Redis, key: str, start: int, count: int, desc: bool) -> Any:
    return await redis.zrange(key, start, start + count - 1, desc=desc)


def _visible(record: JobRecord, owner: str | None) -> bool:
    return owner is None or record.owner == owner
