"""The one lease-and-retry path: acquire → call → classify → release → maybe retry.

Every caller that talks to the upstream with a pooled account (chat, responses, messages,
images, video) goes through ``leased_stream``. It owns the lease for the whole call:

* it acquires an account for ``model`` and opens the caller's upstream stream with it;
* when every eligible account is at its concurrency cap (``ALL_BUSY``) it waits for one to
  free up, polling for at most ``retry.busy_wait_max`` seconds within the retry budget;
* until the first item has been handed to the consumer, an upstream failure is classified
  (``verdicts.classify``); a retryable one (its status in ``retry.retry_status_codes``, or a
  transient failure: 5xx, transport error, no first byte, empty answer) releases the lease
  with its outcome and tries another account, excluding every account that failed: at
  once and without spending ``max_retry`` after an account's own rejection (401, a 403
  policy refusal, a product the upstream does not offer the account, 429:
  ``ACCOUNT_REJECTIONS``), else after a jittered backoff (or the upstream's ``Retry-After``)
  as one of ``max_retry`` retries; all within ``budget``;
* ``prefer_tier`` goes with every acquire: accounts of that tier or above first, when any
  is eligible (720p or longer videos ask for a tier that can make them);
* ``account_tags`` goes with every acquire, retries included: only accounts carrying one
  of these tags are ever leased (a client key bound to a team's tags);
* ``account_id`` pins every acquire to one account (a continued conversation lives on the
  account that started it, protocol §6.4), so the request never switches accounts: the
  account is never excluded; an account rejection (401, 403, a refused product, 429) ends
  the request at once, since only that account could serve it and it just said no; a
  transient or other retryable failure is retried on the same account with the usual
  backoff, ``max_retry`` and ``budget`` (a 5xx or a dropped socket is often gone a moment
  later); when the pool will not lease it again (cooling after the failure, out of
  quota) the upstream failure is what the consumer gets. A busy pinned account is waited
  for like any other (``busy_wait_max``);
* after the first item the account is committed: a failure releases the lease with its
  outcome and re-raises as ``UpstreamFailed`` so the consumer can end its own stream cleanly;
* a consumer that stops early (client disconnect: ``aclose()`` or cancellation) closes the
  upstream stream at once and releases the lease as ``CANCELLED``;
* a stream that ends normally releases the lease as ``SUCCESS``;
* a call that outlasts a third of the lease's time to expiry renews the lease (again and
  again), so a long generation keeps its in-flight slot instead of being reclaimed.

Errors raised to the consumer:

    UpstreamFailed          the upstream call failed (not retried, retries exhausted, or
                            after the first item); carries the ``Verdict``
    errors.PoolExhausted    no account could be leased (first attempt, or every retry)
    errors.PoolError        other pool failures, unchanged
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from grok2api_settings.sections import RetrySettings
from grok2api_telemetry import tracing

from . import client, errors, leases
from .egress import egress_label
from .verdicts import ACCOUNT_REJECTIONS, Verdict, classify

log = logging.getLogger(__name__)

T = TypeVar("T")
_RNG = random.Random()  # jitter only; seeding a fresh generator per request costs CPU

BUSY_POLL_FIRST = 0.01
BUSY_POLL_MAX = 0.25
# A lease is renewed when a third of its time to expiry has passed: the rest is slack for
# a slow pool and for clocks that disagree. Never sooner than this (seconds).
RENEW_MIN_DELAY = 0.05


@dataclasses.dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How hard one request tries other accounts before giving up."""

    max_retry: int = 3
    """Extra attempts after the first, each on another account."""
    retry_status_codes: frozenset[int] = frozenset({401, 429, 403})
    """Upstream statuses (``Verdict.status``) that move the request to another account."""
    backoff_base: float = 0.5
    """First backoff ceiling in seconds; full jitter below ``base * factor**attempt``."""
    backoff_factor: float = 2.0
    backoff_max: float = 30.0
    """No single wait is longer than this (seconds), ``Retry-After`` included."""
    budget: float = 90.0
    """Total seconds a request may spend retrying; no retry starts past it."""
    busy_wait_max: float = 10.0
    """Seconds a request may wait for a busy account (every eligible one at its concurrency
    cap) before ``PoolExhausted`` reaches the caller; bounded by ``budget`` too."""
    retry_transient: bool = True
    """Move to another account after a transient failure (``Outcome.TRANSIENT``: 5xx,
    transport errors, no first byte, an empty answer) whatever ``retry_status_codes`` says."""

    @classmethod
    def from_settings(cls, section: RetrySettings) -> RetryPolicy:
        return cls(
            max_retry=section.max_retry,
            retry_status_codes=frozenset(section.retry_status_codes),
            backoff_base=section.retry_backoff_base,
            backoff_factor=section.retry_backoff_factor,
            backoff_max=section.retry_backoff_max,
            budget=section.retry_budget,
            busy_wait_max=section.busy_wait_max,
            retry_transient=section.retry_transient,
        )

    def delay(self, *, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.backoff_max)
        ceiling = min(self.backoff_base * self.backoff_factor ** (attempt - 1), self.backoff_max)
        return rng.uniform(0.0, ceiling)


class UpstreamFailed(Exception):
    """The upstream call failed and will not be retried; the lease is already released."""

    def __init__(
        self,
        message: str,
        *,
        verdict: Verdict,
        committed: bool,
        accounts: int = 1,
        egress: str = "default",
    ):
        super().__init__(message)
        self.verdict = verdict
        self.committed = committed  # True when items had already reached the consumer
        self.accounts = accounts  # how many accounts the request tried
        # the name of the failed attempt's egress (``egress_label``), never its address
        self.egress = egress


def _retryable(policy: RetryPolicy, verdict: Verdict) -> bool:
    # a challenge is the egress's, as transient as a reset: another account (often on
    # another egress, or the same one once the pool refreshed its clearance) may answer
    if verdict.outcome in (leases.Outcome.TRANSIENT, leases.Outcome.CHALLENGE):
        return policy.retry_transient
    return verdict.status in policy.retry_status_codes


Opener = Callable[[leases.Lease], AsyncIterator[T]]


async def leased_stream(
    *,
    pool: client.PoolClient,
    policy: RetryPolicy,
    model: str,
    opener: Opener[T],
    cost: int | None = None,
    request_id: str = "",
    prefer_tier: str = "",
    account_id: str = "",
    account_tags: Sequence[str] = (),
    on_failure: Callable[[Verdict, bool], None] | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[T]:
    """Yield the items of ``opener(lease)``, leasing and retrying as the module docstring says.

    ``opener`` must return an async iterator (ideally an async generator, so ``aclose`` stops
    the upstream call); it is called once per attempt with a fresh lease. ``on_failure`` hears
    of every failed attempt before the first item: its verdict, and whether it is retried.
    ``prefer_tier`` ("" for none) is passed to every acquire (``PoolClient.acquire``), and
    so is ``account_id`` ("" for any account), which pins the request to that account,
    and so are ``account_tags`` (empty for any account), which restrict every attempt to
    accounts carrying one of them.
    """
    tries = _Tries(
        policy=policy, request_id=request_id, on_failure=on_failure, rng=rng or _RNG, clock=clock,
        pinned=bool(account_id),
    )  # fmt: skip
    while True:
        try:
            lease = await _acquire(
                pool=pool,
                model=model,
                cost=cost,
                exclude=tries.excluded,
                request_id=request_id,
                prefer_tier=prefer_tier,
                account_id=account_id,
                account_tags=tuple(account_tags),
                attempt=tries.spent,
                sleep=sleep,
                clock=clock,
                deadline=tries.started + min(policy.budget, policy.busy_wait_max),
            )
        except errors.PoolExhausted:
            # Every other account is busy or excluded: the upstream failure is the real story.
            if tries.last_failure is not None:
                raise tries.last_failure from tries.last_failure.__cause__
            raise
        held = _HeldLease(pool, lease)
        if tracing.enabled():
            tracing.annotate({"gen_ai.request.model": model, "grok2api.model": model,
                              "grok2api.account.tier": lease.tier.value,
                              "grok2api.retry_count": tries.attempts})
        tries.attempts += 1
        upstream = opener(lease)
        try:
            first = await anext(upstream)
        except StopAsyncIteration:
            await held.release(leases.Outcome.SUCCESS)
            return
        except BaseException as exc:
            await _close_quietly(upstream)
            verdict = classify(exc)
            await held.release(verdict.outcome, verdict.retry_after)
            if isinstance(exc, asyncio.CancelledError | GeneratorExit):
                raise
            await sleep(tries.failed(exc, verdict, lease=lease))
            continue
        committed = _committed(held=held, upstream=upstream, first=first)
        try:
            async for item in committed:
                yield item
        finally:
            await committed.aclose()
        return


async def _committed(
    *, held: _HeldLease, upstream: AsyncIterator[T], first: T
) -> AsyncGenerator[T, None]:
    """The rest of a stream whose first item reached the consumer: no more switching."""
    outcome = leases.Outcome.CANCELLED
    retry_after: float | None = None
    try:
        yield first
        async for item in upstream:
            yield item
        outcome = leases.Outcome.SUCCESS
    except (asyncio.CancelledError, GeneratorExit):
        raise
    except Exception as exc:
        verdict = classify(exc)
        outcome, retry_after = verdict.outcome, verdict.retry_after
        account_id = held.lease.account_id
        log.info(
            "upstream_failed_mid_stream account=%s egress=%s outcome=%s code=%s",
            account_id, egress_label(held.lease), outcome, verdict.code,
        )  # fmt: skip
        raise UpstreamFailed(
            str(exc) or verdict.code, verdict=verdict, committed=True,
            egress=egress_label(held.lease),
        ) from exc  # fmt: skip
    finally:
        if outcome is not leases.Outcome.SUCCESS:
            await _close_quietly(upstream)
        await held.release(outcome, retry_after)


class _Tries:
    """One request's attempts before its first item: which accounts failed, how many of
    ``max_retry`` are spent, and the last failure (what the consumer gets if all fail)."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        request_id: str,
        on_failure: Callable[[Verdict, bool], None] | None,
        rng: random.Random,
        clock: Callable[[], float],
        pinned: bool = False,
    ) -> None:
        self.started = clock()
        self.pinned = pinned  # one account only: never excluded, its rejections final
        self.excluded: list[str] = []
        self.spent = 0
        self.attempts = 0  # upstream calls opened, retries and account rejections alike
        self.last_failure: UpstreamFailed | None = None
        self._policy, self._request_id, self._on_failure = policy, request_id, on_failure
        self._rng, self._clock = rng, clock

    def failed(self, exc: BaseException, verdict: Verdict, *, lease: leases.Lease) -> float:
        """Record a failed attempt: seconds to wait before the next one; raises the failure
        as ``UpstreamFailed`` when the request must give up."""
        if verdict.outcome not in ACCOUNT_REJECTIONS:
            self.spent += 1
        wait = self._wait(verdict)
        log.info(
            "upstream_attempt_failed request_id=%s account=%s egress=%s outcome=%s code=%s "
            "status=%s retry=%s",
            self._request_id, lease.account_id, egress_label(lease), verdict.outcome,
            verdict.code, verdict.status, wait is not None,
        )  # fmt: skip
        failure = UpstreamFailed(
            str(exc) or verdict.code,
            verdict=verdict,
            committed=False,
            accounts=len(self.excluded) + 1,
            egress=egress_label(lease),
        )
        failure.__cause__ = exc
        self.last_failure = failure
        tracing.add_event("upstream_attempt_failed", {
            "grok2api.outcome": str(verdict.outcome), "error.type": verdict.code,
            "http.response.status_code": verdict.status or 0, "grok2api.retried": wait is not None,
        })  # fmt: skip
        if self._on_failure is not None:
            self._on_failure(verdict, wait is not None)
        if wait is None:
            raise failure from exc
        if not self.pinned:
            self.excluded.append(lease.account_id)
        return wait

    def _wait(self, verdict: Verdict) -> float | None:
        policy = self._policy
        if not _retryable(policy, verdict):
            return None
        if verdict.outcome in ACCOUNT_REJECTIONS:
            if self.pinned:
                return None  # the one account that could serve this request refused it
            wait = 0.0  # the account said no, not the upstream: the next one may answer at once
        elif self.spent > policy.max_retry:
            return None
        else:
            wait = policy.delay(attempt=self.spent, retry_after=verdict.retry_after, rng=self._rng)
        if self._clock() - self.started + wait > policy.budget:
            return None
        return wait


async def _acquire(
    *,
    pool: client.PoolClient,
    model: str,
    cost: int | None,
    exclude: Sequence[str],
    request_id: str,
    prefer_tier: str,
    account_id: str,
    account_tags: Sequence[str],
    attempt: int,
    sleep: Callable[[float], Any],
    clock: Callable[[], float],
    deadline: float,
) -> leases.Lease:
    """Acquire, waiting (polling with growing pauses) while every eligible account is at
    its concurrency cap, until ``deadline``; other exhaustion reasons are raised at once."""
    pause = BUSY_POLL_FIRST
    while True:
        try:
            return await pool.acquire(
                model=model, cost=cost, exclude=tuple(exclude), request_id=request_id,
                prefer_tier=prefer_tier, account_id=account_id, account_tags=account_tags,
            )  # fmt: skip
        except errors.PoolExhausted as exc:
            if exc.reason is not errors.ExhaustedReason.ALL_BUSY or clock() + pause > deadline:
                log.info(
                    "pool_exhausted request_id=%s reason=%s attempt=%d excluded=%d",
                    request_id, exc.reason, attempt, len(exclude),
                )  # fmt: skip
                raise
        await sleep(pause)
        pause = min(pause * 2, BUSY_POLL_MAX)


class _HeldLease:
    """A lease from acquire to release, renewed while its call runs on.

    A timer, not a task, waits for the renewal: most calls end long before it is due.
    """

    def __init__(
        self, pool: client.PoolClient, lease: leases.Lease, clock: Callable[[], float] = time.time
    ) -> None:
        self.lease = lease
        self._pool = pool
        self._clock = clock
        self._expires_at = lease.expires_at
        self._renewing: asyncio.Task[None] | None = None
        self._timer = self._schedule()

    def _schedule(self) -> asyncio.TimerHandle:
        delay = max((self._expires_at - self._clock()) / 3, RENEW_MIN_DELAY)
        return asyncio.get_running_loop().call_later(delay, self._due)

    def _due(self) -> None:
        self._renewing = asyncio.ensure_future(self._renew())

    async def _renew(self) -> None:
        lease = self.lease
        try:
            expires_at = await self._pool.renew(lease)
        except errors.PoolError as exc:
            log.warning("lease_renew_failed lease=%s error=%s", lease.lease_id, exc)
            if self._clock() < self._expires_at:  # still held: try again, sooner each time
                self._timer = self._schedule()
            return
        if expires_at is None:
            log.warning("lease_lost lease=%s account=%s: the pool no longer holds it (reclaimed "
                        "or its state rebuilt); the call goes on without its in-flight slot",
                        lease.lease_id, lease.account_id)  # fmt: skip
            return
        self._expires_at = expires_at
        self._timer = self._schedule()

    async def release(self, outcome: leases.Outcome, retry_after: float | None = None) -> None:
        """Release even when the calling task is being cancelled (the pool must hear it)."""
        self._timer.cancel()
        if self._renewing is not None:
            self._renewing.cancel()
        lease = self.lease
        try:
            releasing = self._pool.release(lease, outcome=outcome, retry_after=retry_after)
            await asyncio.shield(releasing)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("lease_release_failed lease=%s outcome=%s", lease.lease_id, outcome)


async def _close_quietly(upstream: AsyncIterator[Any]) -> None:
    aclose = getattr(upstream, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        log.debug("upstream_close_failed", exc_info=True)
