"""Acquire and release: the hot path. Orders become hot-state batches (``hot.coalescing``
merges the ones that arrive together), so a busy replica makes one Redis call for many.

The credential and the account's user id come from a per-replica cache (filled from the
durable store on a miss, dropped on a change notice): like the credential, the user id
lives in the durable store, so a hot-state rebuild keeps it.
When the hot state is empty (first start, Redis flushed or restarted) it is rebuilt from
the durable store, the source of truth for accounts, and the acquire retried once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence

from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, ChangeKind
from grok2api_poolclient.leases import (
    Lease,
    Outcome,
    QuotaFigures,
    Tier,
    account_tags,
    tag_list,
)
from grok2api_settings import Settings
from grok2api_settings.sections import TokenSettings
from grok2api_storage import protocols
from grok2api_storage import records as stored

from . import catalogue, checkpoint, feed, quotas, records
from .egress import pool as egress_pool
from .hot import base, coalescing
from .metrics import PoolMetrics

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class AcquireOrder:
    """One acquire as a caller asked for it (``PoolClient.acquire``'s arguments)."""

    model: str
    cost: int | None = None
    exclude: Sequence[str] = ()
    prefer_tier: str = ""
    account_id: str = ""  # lease this account or none (a pinned acquire); "" = any
    account_tags: Sequence[str] = ()  # only accounts carrying one of these; () = any
    lease_id: str = ""  # the caller's proposal (a resent acquire repeats it); "" = pick one


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class ReleaseOrder:
    """One release as a caller asked for it (``PoolClient.release``'s arguments)."""

    lease: Lease
    outcome: Outcome
    retry_after: float | None = None
    quota: Sequence[QuotaFigures] = ()


class Leaser:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: protocols.AccountRepository,
        hot: base.HotState,
        resolve: catalogue.ModelResolver,
        credentials: feed.CredentialCache,
        metrics: PoolMetrics,
        egress: egress_pool.EgressPool,
        checkpoints: checkpoint.QuotaCheckpointer,
        on_rebuilt: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``on_rebuilt``: called after a rebuild of a hot state lost while the pool ran
        (Redis restarted or flushed), not after the one at start."""
        self._settings = settings
        self._checkpoints = checkpoints
        self._on_rebuilt = on_rebuilt
        self._egress = egress
        self._repo = repo
        self._hot = hot
        self._metrics = metrics
        self._resolve = resolve
        self._credentials = credentials
        self._clock = clock
        self._batches = coalescing.Coalescer(hot)
        self._rebuild_lock = asyncio.Lock()
        self._loading: dict[str, asyncio.Future[feed.Identity]] = {}

    async def _batch(
        self,
        *,
        releases: Sequence[base.ReleaseParams] = (),
        acquires: Sequence[base.AcquireParams] = (),
    ) -> base.BatchResult:
        """One hot-state batch; the accounts whose quota it changed are noted for the next
        quota checkpoint."""
        result = await self._batches.run(releases=releases, acquires=acquires)
        self._checkpoints.touched(r.account_id for r in releases)
        self._checkpoints.touched(
            a.account_id for a in result.acquired if isinstance(a, base.Reservation)
        )
        return result

    def charge(self, model: str) -> catalogue.ModelCharge:
        return self._resolve(model)

    async def acquire(
        self,
        *,
        model: str,
        cost: int | None,
        exclude: Sequence[str],
        prefer_tier: str = "",
        account_id: str = "",
        account_tags: Sequence[str] = (),
    ) -> Lease:
        """One acquire: ``run`` for a single order, without its list bookkeeping."""
        order = AcquireOrder(
            model=model, cost=cost, exclude=exclude, prefer_tier=prefer_tier,
            account_id=account_id, account_tags=account_tags,
        )  # fmt: skip
        params = self._plan_acquire(order, self._settings().token, self._clock())
        if isinstance(params, errors.PoolError):
            raise params
        result = await self._batch(acquires=(params,))
        [answer] = await self._retry_not_ready([params], result.acquired)
        lease = await self._lease(params, answer)
        if isinstance(lease, errors.PoolError):
            raise lease
        return lease

    async def run(
        self, *, acquires: Sequence[AcquireOrder], releases: Sequence[ReleaseOrder]
    ) -> tuple[list[Lease | errors.PoolError], list[errors.PoolError | None]]:
        """Releases, then acquires, in one hot-state batch (merged with concurrent ones).

        One answer per order: a lease or the ``PoolError`` that item came to; a release's
        answer is None when it went through. A failing backend raises for the whole batch.
        """
        token = self._settings().token
        now = self._clock()
        planned = [self._plan_acquire(order, token, now) for order in acquires]
        sendable = [p for p in planned if isinstance(p, base.AcquireParams)]
        release_params = [self._plan_release(order, token, now) for order in releases]
        result = await self._batch(releases=release_params, acquires=sendable)
        answers = await self._retry_not_ready(sendable, result.acquired)
        leases: list[Lease | errors.PoolError] = []
        sent = iter(zip(sendable, answers, strict=True))
        for params in planned:
            if isinstance(params, errors.PoolError):
                leases.append(params)
                continue
            leases.append(await self._lease(*next(sent)))
        released = [
            await self._after_release(order, answer)
            for order, answer in zip(releases, result.released, strict=True)
        ]
        return leases, released

    def _plan_acquire(
        self, order: AcquireOrder, token: TokenSettings, now: float
    ) -> base.AcquireParams | errors.PoolError:
        try:
            charge = self._resolve(order.model)
            prefer = _tier(order.prefer_tier)
            tags = account_tags(order.account_tags) if order.account_tags else ()
        except errors.PoolError as exc:
            return exc
        return base.AcquireParams(
            tiers=quotas.preferred_order(quotas.candidate_tiers(charge.min_tier), prefer),
            mode=charge.mode,
            cost=charge.cost if order.cost is None or order.cost <= 0 else order.cost,
            exclude=frozenset(order.exclude),
            lease_id=_lease_id(order.lease_id),
            now=now,
            expires_at=now + token.lease_ttl_seconds,
            max_inflight=token.max_inflight_per_account,
            policy=token.selection_policy,
            defaults=quotas.DEFAULT_WINDOWS,
            product=charge.product,
            account_id=order.account_id,
            tags=tags,
        )

    def _plan_release(
        self, order: ReleaseOrder, token: TokenSettings, now: float
    ) -> base.ReleaseParams:
        lease = order.lease
        return base.ReleaseParams(
            lease_id=lease.lease_id,
            account_id=lease.account_id,
            mode=lease.mode,
            cost=lease.cost,
            outcome=order.outcome,
            now=now,
            retry_after=order.retry_after,
            figures=tuple(order.quota),
            fail_threshold=token.fail_threshold,
            default_window_seconds=quotas.DEFAULT_WINDOWS[lease.tier].window_seconds,
            transient_threshold=token.transient_fail_threshold,
            transient_cooldown=token.transient_cooldown_seconds,
        )

    async def _retry_not_ready(
        self, sent: list[base.AcquireParams], answers: list[base.AcquireAnswer]
    ) -> list[base.AcquireAnswer]:
        """An empty hot state is rebuilt from the durable store once, and those acquires rerun."""
        again = [p for p, a in zip(sent, answers, strict=True) if isinstance(a, base.NotReady)]
        if not again:
            return answers
        await self.rebuild(lost=True)
        retried = iter((await self._batch(acquires=again)).acquired)
        return [next(retried) if isinstance(a, base.NotReady) else a for a in answers]

    async def _lease(
        self, params: base.AcquireParams, answer: base.AcquireAnswer
    ) -> Lease | errors.PoolError:
        if isinstance(answer, base.NotReady):
            return errors.PoolUnavailable("the hot state is still empty after a rebuild")
        if isinstance(answer, errors.PoolExhausted) and params.tags:
            return await self._tagged_exhausted(params, answer)
        if isinstance(answer, errors.PoolExhausted) and params.account_id:
            return await self._pinned_exhausted(params.account_id, answer)
        if isinstance(answer, errors.PoolError):
            return answer
        try:
            identity = await self._identity(answer.account_id)
        except errors.PoolError as exc:
            return exc
        return Lease(
            lease_id=params.lease_id,
            account_id=answer.account_id,
            credential=identity.credential,
            tier=answer.tier,
            mode=params.mode,
            cost=params.cost,
            expires_at=params.expires_at,
            user_id=identity.user_id,
            egress=await self._egress.route_of(answer.egress_id),
        )

    async def _pinned_exhausted(
        self, account_id: str, answer: errors.PoolExhausted
    ) -> errors.PoolError:
        """A pinned acquire that found nothing: an account the pool does not hold is
        ``AccountNotFound`` (one read, on this failure path only), else the exhaustion."""
        if not await self._hot.accounts([account_id]):
            return errors.AccountNotFound(f"account {account_id} is not in the pool")
        return answer

    async def _tagged_exhausted(
        self, params: base.AcquireParams, answer: errors.PoolExhausted
    ) -> errors.PoolError:
        """A tag-restricted acquire that found nothing, said so (reads on this path only):
        a pinned account the pool does not hold is ``AccountNotFound``; one carrying none of
        the tags, or tags no account carries at all, are ``no_tagged_account`` (a
        configuration problem: waiting does not help); else the exhaustion, naming the tags."""
        tags = params.tags
        names = tag_list(tags)
        if params.account_id:
            found = await self._hot.accounts([params.account_id])
            pinned = found.get(params.account_id)
            if pinned is None:
                return errors.AccountNotFound(f"account {params.account_id} is not in the pool")
            if not set(pinned.tags) & set(tags):
                return errors.PoolExhausted(
                    f"account {params.account_id} carries none of the tags {names}, and this "
                    f"request may only use accounts tagged {names}: tag the account, or start "
                    "a new conversation",
                    reason=errors.ExhaustedReason.NO_TAGGED_ACCOUNT, account_tags=tags,
                )  # fmt: skip
        elif not await self._hot.carries_tags(tags):
            return errors.PoolExhausted(
                f"no account carries the tag {names}: tag accounts with it (account "
                "management) or change the tags the request is restricted to",
                reason=errors.ExhaustedReason.NO_TAGGED_ACCOUNT, account_tags=tags,
            )  # fmt: skip
        return errors.PoolExhausted(
            f"no account tagged {names} is available: {answer}",
            reason=answer.reason, retry_at=answer.retry_at, account_tags=tags,
        )  # fmt: skip

    async def _identity(self, account_id: str) -> feed.Identity:
        identity = self._credentials.get(account_id)
        if identity is not None:
            return identity
        # One store read per account however many acquires miss it at the same moment.
        pending = self._loading.get(account_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load_credential(account_id))
            self._loading[account_id] = pending
            pending.add_done_callback(lambda _: self._loading.pop(account_id, None))
        return await asyncio.shield(pending)

    async def _load_credential(self, account_id: str) -> feed.Identity:
        record = await self._repo.get(account_id)
        if record is None:
            raise errors.AccountNotFound(f"account {account_id} vanished from the store")
        self._credentials.put(account_id, record.credential, record.user_id)
        return feed.Identity(record.credential, record.user_id)

    async def warm(self) -> None:
        """Fill the credential cache from the store (a replica joining a ready hot state)."""
        async for record in self._repo.iter_all():
            self._credentials.put(record.id, record.credential, record.user_id)

    async def release(
        self,
        lease: Lease,
        *,
        outcome: Outcome,
        retry_after: float | None,
        quota: Sequence[QuotaFigures],
    ) -> None:
        order = ReleaseOrder(lease=lease, outcome=outcome, retry_after=retry_after, quota=quota)
        params = self._plan_release(order, self._settings().token, self._clock())
        result = await self._batch(releases=(params,))
        failure = await self._after_release(order, result.released[0])
        if failure is not None:
            raise failure

    async def renew(self, lease: Lease) -> float | None:
        expires_at = self._clock() + self._settings().token.lease_ttl_seconds
        if await self._hot.renew(lease.lease_id, expires_at=expires_at):
            return expires_at
        return None

    async def _after_release(
        self, order: ReleaseOrder, result: base.ReleaseResult | None
    ) -> errors.PoolError | None:
        """Count the outcome; persist and announce a status change (rare, off the fast path)."""
        lease = order.lease
        self._metrics.released(order.outcome, lease.tier)
        if result is not None and result.held:  # a second release is not a second call
            await self._egress.observe(lease.egress, order.outcome)
        if result is None or result.status is result.previous_status:
            return None
        log.info(
            "account_status_changed account=%s status=%s outcome=%s",
            lease.account_id, result.status, order.outcome,
        )  # fmt: skip
        if result.status is AccountStatus.INVALID:
            fail_threshold = self._settings().token.fail_threshold
            patch = stored.AccountPatch(
                status=stored.AccountStatus.INVALID, fail_count=fail_threshold
            )
            await self._repo.update(lease.account_id, patch)
        await self._hot.publish(feed.encode(ChangeKind.STATE_CHANGED, lease.account_id))
        return None

    async def rebuild(self, *, lost: bool = False) -> None:
        """Load every durable account into the hot state, then mark it ready. ``lost``: the
        pool found its running hot state empty (not the first build at start)."""
        async with self._rebuild_lock:
            if await self._hot.is_ready():
                await self.warm()
                return
            count = 0
            async for record in self._repo.iter_all():
                await self._hot.put(records.seed_of(record))
                self._credentials.put(record.id, record.credential, record.user_id)
                count += 1
            await self._egress.binder.bind_all()  # back to their stored egresses
            await self._hot.mark_ready()
            log.info("hot_state_rebuilt accounts=%d", count)
        if lost:
            self._on_rebuilt()


_TIERS = {tier.value: tier for tier in Tier}
_LEASE_ID = re.compile(r"[0-9a-f]{32}")  # the form of the ids the pool itself picks


def _lease_id(proposed: str) -> str:
    """The caller's proposed lease id when it has the pool's own form, else a new one."""
    return proposed if _LEASE_ID.fullmatch(proposed) else secrets.token_hex(16)


def _tier(value: str) -> Tier | None:
    """A preferred tier as a caller names it; "" is none."""
    if not value:
        return None
    tier = _TIERS.get(value)
    if tier is None:
        raise errors.InvalidRequest(f"unknown tier {value!r} (basic, super or heavy)")
    return tier
