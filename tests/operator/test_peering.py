"""Two operator replicas on one API: the one of higher priority acts, the other pauses,
and takes over when the first stops."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from conftest import PEERINGS, create_token, eventually, get_token, grok_token, put_secret
from grok2api_operator import main
from operator_harness import PEERING

CREDENTIAL = "sso-peering-credential"


async def peers(api: aiohttp.ClientSession) -> set[str]:
    """Replicas announced in the peering object (kopf drops a leaving one's entry)."""
    async with api.get(f"{PEERINGS}/{PEERING}") as response:
        body = await response.json()
    return {name for name, entry in (body.get("status") or {}).items() if entry}


async def status_of(api: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    return ((await get_token(api, name)) or {}).get("status") or {}


def test_an_older_replica_has_the_higher_priority() -> None:
    older = main.priority_for(1_800_000_000, tie_break=0)
    newer = main.priority_for(1_800_000_001, tie_break=65535)
    assert older > newer > 0
    assert main.priority_for(1_800_000_000, tie_break=1) != older  # ties broken


async def test_only_one_replica_acts_and_the_other_takes_over_when_it_stops(
    api: aiohttp.ClientSession, replicas: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kopf")
    first = await replicas("operator-a", priority=200)
    await replicas("operator-b", priority=100)

    async def both_announced() -> bool:
        return await peers(api) == {"operator-a", "operator-b"}

    await eventually(both_announced)

    def b_paused() -> bool:
        return any("Pausing operations in favour of" in r.getMessage()
                   and "operator-a" in r.getMessage() for r in caplog.records)

    async def paused() -> bool:
        return b_paused()

    await eventually(paused)

    await put_secret(api, name="p1-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("p1"))

    # Several refreshes (every 0.5 s), all written by the active replica.
    seen: set[str] = set()
    writers: set[str] = set()

    async def refreshed_three_times() -> bool:
        status = await status_of(api, "p1")
        if status.get("lastSynced"):
            seen.add(status["lastSynced"])
            writers.add(status["operator"])
        return len(seen) >= 3

    await eventually(refreshed_three_times)
    assert writers == {"operator-a"}

    await first.stop()

    async def taken_over() -> bool:
        return (await status_of(api, "p1")).get("operator") == "operator-b"

    await eventually(taken_over)
    assert await peers(api) == {"operator-b"}
    assert any("Resuming operations after the pause" in r.getMessage() for r in caplog.records)
