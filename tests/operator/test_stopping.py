"""Stopping: no refresh timer outlives the operator (see ``grok2api_operator.timer_tasks``).

kopf stops only the timers its daemon killer knows when the stop begins: a sync still
running then spawns the object's timer again afterwards, and a timer caught in the middle
of a refresh goes on to write status. Without the operator's cleanup handler both kept
running until kopf cancelled them 5 s later.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from conftest import create_token, eventually, grok_token, put_secret
from grok2api_poolclient import accounts
from operator_fakes import FakePool
from operator_harness import Replica

CREDENTIAL = "sso-" + "s" * 40
# Long enough that no refresh is due while the test runs, unless a timer outlives the stop
# (kopf waits 5 s for leftover tasks before it cancels them).
REFRESH_SECONDS = 2.0


class GatedPool(FakePool):
    """Holds the calls named in ``held`` (``upsert``, ``list``) until the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[str] = set()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def _hold(self, call: str) -> None:
        if call in self.held:
            self.holding.set()
            await asyncio.to_thread(self.release.wait, 10)

    async def upsert_account(self, **kwargs: Any) -> accounts.Account:
        await self._hold("upsert")
        return await super().upsert_account(**kwargs)

    async def list_accounts(self, **kwargs: Any) -> accounts.AccountPage:
        await self._hold("list")
        return await super().list_accounts(**kwargs)


@pytest.fixture
def pool() -> GatedPool:
    return GatedPool()


def logged(caplog: pytest.LogCaptureFixture, text: str, *, after: str = "") -> list[str]:
    """Messages containing ``text`` (logged after the first one containing ``after``)."""
    messages = [r.getMessage() for r in list(caplog.records)]
    start = next((i for i, m in enumerate(messages) if after in m), len(messages))
    return [m for m in messages[start:] if text in m]


async def stop_holding_a_call(
    replica: Replica, pool: GatedPool, caplog: pytest.LogCaptureFixture, *, until: str
) -> None:
    """Stop ``replica`` while a pool call is held, releasing it only once kopf has logged
    ``until``; return when the replica has ended."""
    assert await asyncio.to_thread(pool.holding.wait, 10), "no pool call was held"
    stopping = asyncio.create_task(replica.stop())

    async def reached() -> list[str]:
        return logged(caplog, until)

    await eventually(reached)
    pool.release.set()
    await stopping
    assert replica.error is None


async def test_a_timer_spawned_while_stopping_ends_with_the_operator(
    api: aiohttp.ClientSession, replicas: Callable[..., Awaitable[Replica]], pool: GatedPool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kopf")
    replica = await replicas("operator-0", refresh_interval=REFRESH_SECONDS)
    await put_secret(api, name="s1-sso", data={"sso": CREDENTIAL})
    pool.held = {"upsert"}
    await create_token(api, grok_token("s1"))

    # The creation's sync finishes once kopf's daemon killer (which stops the timers kopf
    # knows) is gone: the timer the sync spawns then is never stopped by kopf.
    await stop_holding_a_call(replica, pool, caplog, until="Daemon killer is cancelled")

    assert logged(caplog, "account synced account_id=acc-1"), "the sync did not finish"
    assert not logged(caplog, "Timer 'refresh' is invoked"), "a refresh ran after the stop"
    # kopf lists the tasks still running after its own have ended, waits 5 s for them,
    # then cancels them: there must be none.
    assert not logged(caplog, "Hung tasks are stopped")


async def test_a_timer_stopped_in_the_middle_of_a_refresh_ends_with_the_operator(
    api: aiohttp.ClientSession, replicas: Callable[..., Awaitable[Replica]], pool: GatedPool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kopf")
    replica = await replicas("operator-0")
    await put_secret(api, name="s2-sso", data={"sso": CREDENTIAL})
    await create_token(api, grok_token("s2"))

    async def synced() -> bool:
        return bool(logged(caplog, "Timer 'refresh' succeeded"))

    await eventually(synced)
    pool.held = {"list"}  # the next refresh stops at its first pool call

    # kopf sets the timer's stop flag, gives up on it at once ("did not exit in time") and
    # ends its own tasks; the refresh went on to write status after that (through kopf's
    # closing client, where it could wait 5 s for a login that never came).
    await stop_holding_a_call(replica, pool, caplog, until="Root tasks are stopped")

    assert logged(caplog, "Timer 'refresh' did not exit in time")
    stop = "Operator is stopping"
    assert not logged(caplog, "Timer 'refresh' succeeded", after=stop)
    assert not logged(caplog, "Merge-patching the status", after=stop)
    assert not logged(caplog, "Hung tasks are stopped")
