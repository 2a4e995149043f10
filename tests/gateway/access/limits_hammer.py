"""Two of these OS processes at once hammer client keys of a ``RedisLimitStore`` with
concurrent admits; run by ``test_limit_store_processes.py``, printing what each saw as JSON.

Usage: ``python limits_hammer.py '<json spec>'``: ``prefix``, ``now`` (the fixed clock),
``parties`` (how many processes), ``parallel`` (admits in flight per process) and ``phases``,
run in order, each on its own client key ``name``: ``rpm`` (``requests`` admits against
``rpm``), ``concurrent`` (admit, hold briefly, release, until ``admissions`` were admitted,
against ``concurrent``) or ``quota`` (``requests`` admits of 1, 2, 3, 1, ... units against
``daily``). Before each phase the processes wait for each other and start together.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from typing import Any


def _storage_records_alone() -> None:
    """Let ``grok2api_storage.records`` (the limits' values) load without its package's
    ``__init__``, which imports every store (SQLAlchemy, Alembic: seconds of each hammer
    process's start, none of it used here): the package is registered unexecuted, its
    submodules still found on its path. Only what the limit store runs is imported."""
    spec = importlib.util.find_spec("grok2api_storage")
    assert spec is not None and spec.submodule_search_locations is not None
    sys.modules.setdefault("grok2api_storage", importlib.util.module_from_spec(spec))


_storage_records_alone()

import redis.asyncio as aioredis  # noqa: E402
from gateway.access.limits import Admitted  # noqa: E402
from gateway.access.redis_limits import RedisLimitStore  # noqa: E402
from grok2api_storage.records import ClientKeyLimits, QuotaUnit  # noqa: E402

assert "grok2api_storage.factory" not in sys.modules  # the stores really stayed out

REDIS_URL = "redis://127.0.0.1:6379/0"


async def barrier(client: aioredis.Redis, key: str, parties: int) -> None:
    """Wait for every party; all of them leave within microseconds of each other (the last
    to arrive wakes the others' BLPOP), since a coalescing store can use up a phase's limit
    in a few round trips and a late starter would never compete."""
    if await client.incr(key) >= parties:
        await client.rpush(f"{key}:go", *["go"] * (parties - 1))
        return
    async with asyncio.timeout(60):
        await client.blpop([f"{key}:go"], timeout=60)


async def run_phase(
    client: aioredis.Redis, store: RedisLimitStore, spec: dict[str, Any], phase: dict[str, Any]
) -> dict[str, Any]:
    mode, key = phase["mode"], phase["name"]
    limits = ClientKeyLimits(
        rate_limit_per_minute=phase.get("rpm"),
        max_concurrent=phase.get("concurrent"),
        daily_quota=phase.get("daily"),
        quota_unit=QuotaUnit.COST,
    )
    observed = f"{spec['prefix']}{key}:observed-in-flight"
    result: dict[str, Any] = {"admitted": 0, "refused": 0, "units": 0, "max_in_flight": 0}
    requests = iter(range(phase.get("requests", 0)))

    async def one(index: int) -> None:
        units = 1 + index % 3 if mode == "quota" else 1
        answer = await store.admit(key, limits, units=units)
        if not isinstance(answer, Admitted):
            result["refused"] += 1
            if mode == "concurrent":
                await asyncio.sleep(0.001)  # a back-off, instead of spinning on Redis
            return
        result["admitted"] += 1
        result["units"] += units
        if mode == "concurrent":
            # Counted after admission, uncounted before release: never above the real
            # number of slots held, so a maximum above the limit is an over-admission.
            seen = await client.incr(observed)
            result["max_in_flight"] = max(result["max_in_flight"], seen)
            await asyncio.sleep(0.001)
            await client.decr(observed)
            await store.release(answer)

    async def worker() -> None:
        if mode == "concurrent":
            # Go on until this process got its share of admissions (whatever the other
            # process does), so neither can finish early on refusals alone.
            while result["admitted"] < phase["admissions"]:
                await one(0)
            return
        for index in requests:
            await one(index)

    await barrier(client, f"{spec['prefix']}{key}:ready", spec["parties"])
    await asyncio.gather(*(worker() for _ in range(spec["parallel"])))
    return result


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    client = aioredis.Redis.from_url(REDIS_URL, max_connections=spec["parallel"] + 4)
    store = RedisLimitStore(client, prefix=spec["prefix"], clock=lambda: spec["now"])
    try:
        # Open every connection before the first start line: both fire at full speed.
        await asyncio.gather(*(client.ping() for _ in range(spec["parallel"])))
        return {
            phase["name"]: await run_phase(client, store, spec, phase) for phase in spec["phases"]
        }
    finally:
        await store.aclose()
        await client.aclose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
