"""Exactness under real concurrency: two OS processes, each with 64 admits in flight, share
client keys through the real Redis (``limits_hammer.py`` does the firing). The processes are
started once for the module (their start-up is most of the cost) and run one phase per limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from gateway.access.limits import KeyCounters
from gateway.access.redis_limits import RedisLimitStore

HAMMER = Path(__file__).with_name("limits_hammer.py")
REDIS_URL = "redis://127.0.0.1:6379/0"
NOW = 1_773_144_000.0  # 2026-03-10 12:00 UTC, fixed: every admission is in one window and day
PROCESSES = 2
RPM: dict[str, Any] = {"name": "rpm", "mode": "rpm", "rpm": 1000, "requests": 2000}
"""Large enough that neither process can use the whole minute up in a few batched round trips
before the other has started: both must really compete for it."""
PHASES = [
    RPM,
    {"name": "concurrent", "mode": "concurrent", "concurrent": 5, "admissions": 150},
    # Requests of 1, 2 or 3 units: 2 x 600 of them ask for far more than the quota.
    {"name": "quota", "mode": "quota", "daily": 500, "requests": 600},
]


@pytest.fixture(scope="module")
def hammered() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The key prefix the processes used and what each of them saw, per phase."""
    prefix = f"test:{uuid.uuid4().hex}:"
    spec = {"prefix": prefix, "now": NOW, "parties": PROCESSES, "parallel": 64, "phases": PHASES}
    children = [
        subprocess.Popen(
            [sys.executable, str(HAMMER), json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err.decode()
        results.append(json.loads(out))
    yield prefix, results
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def phase(hammered: tuple[str, list[dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    return [result[name] for result in hammered[1]]


async def counters(hammered: tuple[str, list[dict[str, Any]]], key: str) -> KeyCounters:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        return await RedisLimitStore(client, prefix=hammered[0], clock=lambda: NOW).counters(key)
    finally:
        await client.aclose()


async def test_two_processes_admit_exactly_the_rpm_between_them(
    hammered: tuple[str, list[dict[str, Any]]],
) -> None:
    results = phase(hammered, "rpm")
    assert sum(r["admitted"] for r in results) == RPM["rpm"]
    assert sum(r["refused"] for r in results) == PROCESSES * RPM["requests"] - RPM["rpm"]
    assert all(r["admitted"] > 0 for r in results)  # both really competed
    assert (await counters(hammered, "rpm")).requests_last_minute == RPM["rpm"]


async def test_two_processes_never_hold_more_than_max_concurrent(
    hammered: tuple[str, list[dict[str, Any]]],
) -> None:
    results = phase(hammered, "concurrent")
    assert max(r["max_in_flight"] for r in results) <= 5
    assert max(r["max_in_flight"] for r in results) >= 2  # requests did overlap
    assert all(r["admitted"] >= 150 for r in results)  # slots were freed and reused
    assert sum(r["refused"] for r in results) > 0  # and the limit was pressed on
    assert (await counters(hammered, "concurrent")).in_flight == 0  # every release landed


async def test_two_processes_never_overspend_a_daily_quota(
    hammered: tuple[str, list[dict[str, Any]]],
) -> None:
    spent = sum(r["units"] for r in phase(hammered, "quota"))
    assert await counters(hammered, "quota") == KeyCounters(
        requests_last_minute=0, in_flight=0, used_today=spent, used_this_month=0
    )
    # Never over; and exactly full, since one-unit requests kept coming after it filled.
    assert spent == 500
