"""UserIdRecorder: a discovered user id is sent to the pool in the background, once per
account and value; a failure is logged (never raised) and a later discovery retries."""

from __future__ import annotations

import asyncio
import logging

import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.leases import Lease, Tier
from grok2api_poolclient.user_ids import UserIdRecorder

UID = "3f2c1b0a-9e8d-4c7b-a6f5-0e1d2c3b4a59"


def _lease(account_id: str = "acc-1", user_id: str = "") -> Lease:
    return Lease(lease_id="l", account_id=account_id, credential="secret-credential",
                 tier=Tier.BASIC, mode="auto", cost=1, expires_at=0.0,
                 user_id=user_id)  # fmt: skip


class Pool:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail: list[BaseException] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def set_user_id(self, account_id: str, user_id: str) -> None:
        await self.gate.wait()
        self.calls.append((account_id, user_id))
        if self.fail:
            raise self.fail.pop(0)


async def test_records_once_per_account_and_value() -> None:
    pool = Pool()
    recorder = UserIdRecorder(pool)  # type: ignore[arg-type]
    pool.gate.clear()
    recorder.discovered(_lease(), UID)  # returns at once, the call waits
    recorder.discovered(_lease(), UID)
    recorder.discovered(_lease("acc-2"), UID)
    recorder.discovered(_lease("acc-3", user_id=UID), UID)  # the lease had it: nothing
    recorder.discovered(_lease("acc-4"), "")  # nothing discovered: nothing
    assert pool.calls == []
    pool.gate.set()
    await recorder.drain()
    assert sorted(pool.calls) == [("acc-1", UID), ("acc-2", UID)]


async def test_a_failure_is_logged_not_raised_and_retried_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = Pool()
    pool.fail.append(errors.PoolUnavailable("down"))
    recorder = UserIdRecorder(pool)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        recorder.discovered(_lease(), UID)
        await recorder.drain()
    assert "user_id_record_failed account=acc-1 error=PoolUnavailable" in caplog.text
    assert UID not in caplog.text and "secret-credential" not in caplog.text
    recorder.discovered(_lease(), UID)
    await recorder.drain()
    assert pool.calls == [("acc-1", UID), ("acc-1", UID)]


async def test_aclose_cancels_recordings_in_flight() -> None:
    pool = Pool()
    pool.gate.clear()
    recorder = UserIdRecorder(pool)  # type: ignore[arg-type]
    recorder.discovered(_lease(), UID)
    await recorder.aclose()
    await recorder.drain()
    assert pool.calls == []
