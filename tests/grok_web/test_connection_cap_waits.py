"""The connection cap's waits: counted, gauged while they last, and logged at most once per
interval while calls wait (a queue that lasts is logged again, not only when it forms)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from grok_web import connection_cap
from prometheus_client import REGISTRY


def sample(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind}) or 0.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(connection_cap, "_clock", lambda: now[0])
    monkeypatch.setattr(connection_cap, "_last_logged", [])
    return now


def wait_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == connection_cap.__name__]


async def test_callers_beyond_the_limit_wait_counted_gauged_and_logged(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=connection_cap.__name__)
    cap = connection_cap.ConnectionCap(1, kind="http", egress="eu")
    waits = sample("grok2api_upstream_connection_waits_total", "http")
    in_use = sample("grok2api_upstream_connections_in_use", "http")
    await cap.acquire()  # a free slot: no wait
    assert sample("grok2api_upstream_connection_waits_total", "http") == waits
    waiters = [asyncio.create_task(cap.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    assert cap.waiting == 3
    assert sample("grok2api_upstream_connection_waiting", "http") == 3
    assert sample("grok2api_upstream_connection_waits_total", "http") == waits + 3
    assert sample("grok2api_upstream_connections_in_use", "http") == in_use + 1
    lines = wait_lines(caplog)
    assert lines == [
        "upstream_connection_wait waiting=1 kind=http egress=eu limit=1 "
        f"hint={connection_cap.SETTING_HINT!r}"
    ]  # the first wait; the next two within the interval are not logged

    clock[0] += connection_cap.LOG_INTERVAL + 1
    cap.release()
    await asyncio.sleep(0)  # one waiter gets the slot, two still wait: logged again
    assert wait_lines(caplog)[1:] == [
        "upstream_connection_wait waiting=2 kind=http egress=eu limit=1 "
        f"hint={connection_cap.SETTING_HINT!r}"
    ]
    cap.release()
    await asyncio.sleep(0)
    cap.release()
    await asyncio.gather(*waiters)
    cap.release()
    assert len(wait_lines(caplog)) == 2  # within the interval again
    assert cap.waiting == 0 and cap.in_use == 0
    assert sample("grok2api_upstream_connection_waiting", "http") == 0
    assert sample("grok2api_upstream_connections_in_use", "http") == in_use


async def test_a_cancelled_wait_leaves_the_gauge_and_the_slots_right(clock: list[float]) -> None:
    cap = connection_cap.ConnectionCap(1, kind="websocket")
    await cap.acquire()
    waiter = asyncio.create_task(cap.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert cap.waiting == 0 and cap.in_use == 1
    assert sample("grok2api_upstream_connection_waiting", "websocket") == 0
    cap.release()
    await asyncio.wait_for(cap.acquire(), 1)  # the slot is free again, not lost
    cap.release()
