"""The lease-and-retry path pinned to one account (``leased_stream(account_id=…)``):
continuing a conversation never moves to another account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gateway_fakes import FakePool
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import leases, leasing
from grok_web import errors as grok_errors


def failing(times: int, failure: Exception, items: tuple[object, ...] = ("x",)):
    """An opener whose first ``times`` calls fail with ``failure``."""
    calls: list[str] = []

    def opener(lease: leases.Lease) -> AsyncIterator[object]:
        calls.append(lease.account_id)

        async def run() -> AsyncIterator[object]:
            if len(calls) <= times:
                raise failure
            for item in items:
                yield item

        return run()

    return opener, calls


async def _no_sleep(seconds: float) -> None:
    return None


async def test_every_attempt_is_pinned_to_the_account() -> None:
    pool = FakePool()
    opener, calls = failing(0, RuntimeError())
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(), model="grok-4", opener=opener,
        account_id="acct-2",
    )  # fmt: skip
    assert [item async for item in stream] == ["x"]
    assert calls == ["acct-2"] and pool.pinned == ["acct-2"]


async def test_a_transient_failure_is_retried_on_the_same_account() -> None:
    pool = FakePool()
    opener, calls = failing(1, grok_errors.UpstreamUnavailable("503", status=503))
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(max_retry=2), model="grok-4", opener=opener,
        account_id="acct-2", sleep=_no_sleep,
    )  # fmt: skip
    assert [item async for item in stream] == ["x"]
    assert calls == ["acct-2", "acct-2"]
    assert pool.outcomes() == [
        ("acct-2", leases.Outcome.TRANSIENT),
        ("acct-2", leases.Outcome.SUCCESS),
    ]


@pytest.mark.parametrize(
    "rejection",
    [grok_errors.RateLimited("429", retry_after=5), grok_errors.InvalidCredential("401")],
)
async def test_an_account_rejection_ends_a_pinned_request(rejection: Exception) -> None:
    pool = FakePool()
    opener, calls = failing(1, rejection)
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(max_retry=3), model="grok-4", opener=opener,
        account_id="acct-1", sleep=_no_sleep,
    )  # fmt: skip
    with pytest.raises(leasing.UpstreamFailed) as caught:
        [item async for item in stream]
    assert calls == ["acct-1"] and caught.value.accounts == 1
    assert caught.value.__cause__ is rejection


async def test_when_the_pinned_account_cannot_be_leased_again_the_failure_is_raised() -> None:
    pool = FakePool(accounts=("acct-1",))
    failure = grok_errors.UpstreamUnavailable("503", status=503)
    opener, calls = failing(1, failure)

    async def cooled(seconds: float) -> None:
        pool.accounts.clear()  # the pool cooled the account after the failure

    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(max_retry=3), model="grok-4", opener=opener,
        account_id="acct-1", sleep=cooled,
    )  # fmt: skip
    with pytest.raises(leasing.UpstreamFailed) as caught:
        [item async for item in stream]
    assert calls == ["acct-1"] and caught.value.__cause__ is failure


async def test_an_unleasable_pinned_account_is_the_pools_answer() -> None:
    pool = FakePool(accounts=("acct-1",))
    opener, calls = failing(0, RuntimeError())
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(), model="grok-4", opener=opener,
        account_id="acct-9",
    )  # fmt: skip
    with pytest.raises(pool_errors.PoolExhausted):
        [item async for item in stream]
    assert calls == []
