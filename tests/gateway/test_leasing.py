"""The one lease-and-retry path (grok2api_poolclient.leasing) on its own."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import pytest
from gateway_fakes import FakePool
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import leases, leasing
from grok_web import errors as grok_errors


def failing_then(items: list[object], failures: dict[str, Exception]):
    def opener(lease: leases.Lease) -> AsyncIterator[object]:
        async def run() -> AsyncIterator[object]:
            if lease.account_id in failures:
                raise failures[lease.account_id]
            for item in items:
                yield item
        return run()
    return opener


async def collect(stream: AsyncIterator[object]) -> list[object]:
    return [item async for item in stream]


async def test_an_accounts_rejection_moves_to_the_next_account_at_once() -> None:
    pool, waits = FakePool(), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    rejections = {
        "acct-1": grok_errors.RateLimited("429", retry_after=2.5),
        "acct-2": grok_errors.InvalidCredential("401"),
    }
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(max_retry=0), model="grok-4", sleep=sleep,
        opener=failing_then(["x"], rejections),
    )
    assert await collect(stream) == ["x"]  # max_retry=0: rejections do not spend retries
    assert pool.acquired == ["acct-1", "acct-2", "acct-3"]
    assert all(wait == 0 for wait in waits)  # Retry-After cools acct-1, it delays nobody
    assert pool.outcomes()[0] == ("acct-1", leases.Outcome.RATE_LIMITED)



async def test_a_product_refusal_switches_account_without_spending_a_retry() -> None:
    pool, waits = FakePool(), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(max_retry=0), model="grok-imagine-1.0-video",
        prefer_tier="super", sleep=sleep,
        opener=failing_then(["video"], {"acct-1": grok_errors.ProductUnavailable("basic")}),
    )
    assert await collect(stream) == ["video"]  # max_retry=0: the refusal spent nothing
    assert pool.outcomes() == [("acct-1", leases.Outcome.PRODUCT_REFUSED),
                               ("acct-2", leases.Outcome.SUCCESS)]
    assert waits == [0.0]
    assert pool.preferred == ["super", "super"]  # the preference goes with every attempt
    verdict = leasing.classify(grok_errors.ProductUnavailable("basic"))
    assert (verdict.code, verdict.outcome in leasing.ACCOUNT_REJECTIONS) == (
        "upstream_product_unavailable", True,
    )

async def test_transient_failures_back_off_and_spend_retries() -> None:
    pool, waits = FakePool(), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    failure = grok_errors.UpstreamUnavailable("503", status=503)
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(max_retry=1, backoff_base=0.5), model="grok-4",
        sleep=sleep, opener=failing_then([], {a: failure for a in pool.accounts}),
    )
    with pytest.raises(leasing.UpstreamFailed):
        await collect(stream)
    assert pool.acquired == ["acct-1", "acct-2"]
    assert len(waits) == 1 and 0 <= waits[0] <= 0.5


async def test_backoff_is_jittered_below_an_exponential_ceiling() -> None:
    policy = leasing.RetryPolicy(backoff_base=0.5, backoff_factor=2.0, backoff_max=1.5)
    rng = random.Random(1)
    delays = [policy.delay(attempt=n, retry_after=None, rng=rng) for n in (1, 2, 3, 4)]
    assert all(0 <= d <= c for d, c in zip(delays, (0.5, 1.0, 1.5, 1.5), strict=True))
    assert policy.delay(attempt=1, retry_after=99, rng=rng) == 1.5


class _Ceiling(random.Random):
    """Jitter that always waits the whole ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def test_stops_retrying_when_the_budget_is_spent() -> None:
    pool, now = FakePool(), [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    failure = grok_errors.UpstreamUnavailable("502", status=502)
    policy = leasing.RetryPolicy(budget=15, backoff_base=10, backoff_factor=1, backoff_max=30)
    stream = leasing.leased_stream(
        pool=pool, policy=policy, model="grok-4", sleep=sleep, clock=lambda: now[0],
        rng=_Ceiling(), opener=failing_then([], {a: failure for a in pool.accounts}),
    )
    with pytest.raises(leasing.UpstreamFailed) as caught:
        await collect(stream)
    assert caught.value.verdict.outcome is leases.Outcome.TRANSIENT
    assert pool.acquired == ["acct-1", "acct-2"]  # a second 10 s wait would pass 15 s


async def test_reports_the_upstream_failure_when_no_other_account_is_left() -> None:
    pool = FakePool(["only"])
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
        opener=failing_then([], {"only": grok_errors.InvalidCredential("401")}),
    )
    with pytest.raises(leasing.UpstreamFailed) as caught:
        await collect(stream)
    assert caught.value.verdict.outcome is leases.Outcome.INVALID_CREDENTIAL
    assert pool.outcomes() == [("only", leases.Outcome.INVALID_CREDENTIAL)]


async def test_pool_exhaustion_on_the_first_attempt_is_raised_as_is() -> None:
    stream = leasing.leased_stream(pool=FakePool([]), policy=leasing.RetryPolicy(),
                                   model="grok-4", opener=failing_then([], {}))
    with pytest.raises(pool_errors.PoolExhausted):
        await collect(stream)


async def test_closing_early_releases_as_cancelled() -> None:
    pool = FakePool()
    stream = leasing.leased_stream(pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
                                   opener=failing_then(["a", "b", "c"], {}))
    assert await anext(stream) == "a"
    await stream.aclose()
    assert pool.outcomes() == [("acct-1", leases.Outcome.CANCELLED)]


@pytest.mark.parametrize(
    ("error", "outcome", "status"),
    [
        (grok_errors.CloudflareChallenge("cf"), leases.Outcome.CHALLENGE, 403),
        (grok_errors.AntiBotRejected("7"), leases.Outcome.CHALLENGE, 403),
        (grok_errors.Forbidden("no"), leases.Outcome.FORBIDDEN, 403),
        (grok_errors.ProductUnavailable("no video"), leases.Outcome.PRODUCT_REFUSED, 403),
        (grok_errors.UpstreamUnavailable("503", status=503), leases.Outcome.TRANSIENT, 502),
        (grok_errors.FirstByteTimeout("silent"), leases.Outcome.TRANSIENT, 504),
        (grok_errors.StreamIdleTimeout("idle"), leases.Outcome.TRANSIENT, 504),
        (grok_errors.EmptyStream("empty"), leases.Outcome.TRANSIENT, 502),
        (grok_errors.MalformedResponse("junk"), leases.Outcome.TRANSIENT, 502),
        (grok_errors.RequestRejected("400", status=400), leases.Outcome.UPSTREAM_ERROR, 400),
        (grok_errors.ContentBlocked("moderated"), leases.Outcome.UPSTREAM_ERROR, 422),
        (ValueError("bug"), leases.Outcome.UPSTREAM_ERROR, 500),
    ],
)
def test_classifies_every_upstream_error(error: Exception, outcome: leases.Outcome,
                                         status: int) -> None:
    verdict = leasing.classify(error)
    assert (verdict.outcome, verdict.status) == (outcome, status)


@pytest.mark.parametrize(
    "failure",
    [
        grok_errors.UpstreamUnavailable("502", status=502),
        grok_errors.UpstreamUnavailable("connection reset"),
        grok_errors.FirstByteTimeout("silent"),
        grok_errors.EmptyStream("empty"),
    ],
)
async def test_transient_failures_move_to_another_account_whatever_the_status_codes(
    failure: Exception,
) -> None:
    pool, heard = FakePool(), []
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(retry_status_codes=frozenset({429})),
        model="grok-4", sleep=lambda _: asyncio.sleep(0),
        on_failure=lambda verdict, retried: heard.append((verdict.code, retried)),
        opener=failing_then(["x"], {"acct-1": failure}),
    )
    assert await collect(stream) == ["x"]
    assert pool.outcomes() == [("acct-1", leases.Outcome.TRANSIENT),
                               ("acct-2", leases.Outcome.SUCCESS)]
    assert heard == [(leasing.classify(failure).code, True)]


async def test_transient_failures_reach_the_client_when_their_retry_is_off() -> None:
    pool = FakePool()
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(retry_transient=False), model="grok-4",
        opener=failing_then(["x"], {"acct-1": grok_errors.EmptyStream("empty")}),
    )
    with pytest.raises(leasing.UpstreamFailed) as caught:
        await collect(stream)
    assert caught.value.verdict.code == "upstream_empty_stream"
    assert pool.acquired == ["acct-1"]


async def test_a_refused_request_is_not_retried_on_another_account() -> None:
    pool = FakePool()
    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
        opener=failing_then(["x"], {"acct-1": grok_errors.RequestRejected("400", status=400)}),
    )
    with pytest.raises(leasing.UpstreamFailed):
        await collect(stream)
    assert pool.outcomes() == [("acct-1", leases.Outcome.UPSTREAM_ERROR)]


async def test_waits_for_a_busy_pool_to_free_an_account() -> None:
    pool, waits = FakePool(), []
    pool.busy_answers = 3

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    stream = leasing.leased_stream(pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
                                   sleep=sleep, opener=failing_then(["x"], {}))
    assert await collect(stream) == ["x"]
    assert waits == [0.01, 0.02, 0.04]


async def test_gives_up_waiting_for_a_busy_pool_at_the_deadline() -> None:
    pool, now = FakePool(), [0.0]
    pool.busy_answers = 10_000

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    policy = leasing.RetryPolicy(busy_wait_max=3.0)
    stream = leasing.leased_stream(pool=pool, policy=policy, model="grok-4",
                                   sleep=sleep, clock=lambda: now[0],
                                   opener=failing_then(["x"], {}))
    with pytest.raises(pool_errors.PoolExhausted) as caught:
        await collect(stream)
    assert caught.value.reason is pool_errors.ExhaustedReason.ALL_BUSY
    assert policy.busy_wait_max - 0.5 <= now[0] <= policy.busy_wait_max


def slow_call(pause: float) -> leasing.Opener[str]:
    """An upstream call that answers at once, then runs on for ``pause`` seconds."""
    def opener(lease: leases.Lease) -> AsyncIterator[str]:
        async def run() -> AsyncIterator[str]:
            yield "first"
            await asyncio.sleep(pause)
            yield "last"
        return run()
    return opener


async def test_a_call_outlasting_a_third_of_the_ttl_renews_its_lease_until_released() -> None:
    pool = FakePool()
    pool.lease_ttl = 0.3  # renewals due every 0.1 s; the call runs 0.5 s
    stream = leasing.leased_stream(pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
                                   opener=slow_call(0.5))
    assert await collect(stream) == ["first", "last"]
    renewed = len(pool.renewals)
    assert renewed >= 1 and set(pool.renewals) == {"lease-1"}
    await asyncio.sleep(0.3)
    assert len(pool.renewals) == renewed  # released: no more renewals
    assert pool.outcomes() == [("acct-1", leases.Outcome.SUCCESS)]


async def test_a_short_call_never_renews() -> None:
    pool = FakePool()
    stream = leasing.leased_stream(pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
                                   opener=failing_then(["x"], {}))
    assert await collect(stream) == ["x"]
    assert pool.renewals == []


async def test_a_failed_renewal_is_retried_and_a_lost_lease_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = FakePool()
    pool.lease_ttl = 0.3
    pool.renew_answers = [pool_errors.PoolUnavailable("pool restarting"), None]
    stream = leasing.leased_stream(pool=pool, policy=leasing.RetryPolicy(), model="grok-4",
                                   opener=slow_call(0.5))
    with caplog.at_level(logging.WARNING, logger=leasing.__name__):
        assert await collect(stream) == ["first", "last"]
    assert pool.renewals == ["lease-1", "lease-1"]  # retried once, then told the lease is gone
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("lease_renew_failed lease=lease-1") for m in messages)
    assert any(m.startswith("lease_lost lease=lease-1 account=acct-1") for m in messages)
    assert pool.outcomes() == [("acct-1", leases.Outcome.SUCCESS)]


async def test_account_tags_go_with_every_acquire_retries_and_busy_polls() -> None:
    pool, waits = FakePool(), []
    pool.tags = {"acct-2": {"team-a"}, "acct-3": {"team-b"}}
    pool.busy_answers = 1

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    stream = leasing.leased_stream(
        pool=pool, policy=leasing.RetryPolicy(), model="grok-4", sleep=sleep,
        account_tags=("team-a", "team-b"),
        opener=failing_then(["x"], {"acct-2": grok_errors.InvalidCredential("401")}),
    )
    assert await collect(stream) == ["x"]
    assert pool.acquired == ["acct-2", "acct-3"]  # acct-1 carries neither tag
    assert pool.tagged == [("team-a", "team-b")] * 3  # the busy poll, then both attempts
