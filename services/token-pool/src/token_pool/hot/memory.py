"""The in-process hot state of the single-process mode.

Every method runs to completion without awaiting in between, so on one event loop each
call (a whole batch included) is atomic, like the Redis scripts. Semantics: see ``base``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Mapping, Sequence

from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, QuotaSource
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier

from . import base, outcomes
from . import memory_records as records
from .memory_bus import MemoryBus
from .memory_egress import EgressCounts


class MemoryHotState(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self._accounts: dict[str, records.Account] = {}
        self._by_tier: dict[Tier, dict[str, records.Account]] = {t: {} for t in Tier}
        # (tier, tag) -> the accounts of the tier carrying the tag; no empty entries
        self._by_tier_tag: dict[tuple[Tier, str], dict[str, records.Account]] = {}
        self._leases: dict[str, records.Lease] = {}
        self._earliest_expiry = float("inf")  # lets most acquires skip the reclaim scan
        self._ready = False
        self._random = random.Random()
        self._transient_run: set[str] = set()  # failed transiently since the last success
        self._unusable: set[str] = set()  # invalid or disabled: never leased
        self._egresses = EgressCounts()

    async def run_batch(
        self, *, releases: Sequence[base.ReleaseParams], acquires: Sequence[base.AcquireParams]
    ) -> base.BatchResult:
        released = [self._release(params) for params in releases]
        acquired: list[base.AcquireAnswer] = []
        for params in acquires:
            try:
                acquired.append(self._acquire(params))
            except (errors.PoolExhausted, base.NotReady) as exc:
                acquired.append(exc)
        return base.BatchResult(released=released, acquired=acquired)

    def _acquire(self, params: base.AcquireParams) -> base.Reservation:
        if not self._ready:
            raise base.NotReady()
        self._reclaim(params.now)
        held = self._leases.get(params.lease_id)
        holder = self._accounts.get(held.account_id) if held is not None else None
        if held is not None and holder is not None:  # sent again: the grant it already has
            return base.Reservation(account_id=held.account_id, tier=holder.tier,
                                    egress_id=held.egress)  # fmt: skip
        tally = outcomes.ExhaustionTally()
        pinned, tags = params.account_id, params.tags
        for tier in params.tiers:
            members = self._tagged(tier, tags) if tags else self._by_tier[tier]
            best: list[str] = []
            if pinned:
                acct = members.get(pinned)
                if acct is not None:
                    best = self._pick([(pinned, acct)], params, tier, tally)
            elif len(members) > base.SAMPLE_SIZE:
                sample = self._random.sample(list(members), base.SAMPLE_SIZE)
                best = self._pick([(a, members[a]) for a in sample], params, tier,
                                  outcomes.ExhaustionTally())  # fmt: skip
            if not best and not pinned:
                best = self._pick(members.items(), params, tier, tally)
            if best:
                account_id = best[self._random.randrange(len(best))]
                acct = self._accounts[account_id]
                self._reserve(acct, account_id, params, tier)
                return base.Reservation(account_id=account_id, tier=tier, egress_id=acct.egress)
        raise tally.exhausted()

    def _tagged(self, tier: Tier, tags: tuple[str, ...]) -> dict[str, records.Account]:
        """The accounts of ``tier`` carrying at least one of ``tags``."""
        if len(tags) == 1:
            return self._by_tier_tag.get((tier, tags[0]), {})
        found: dict[str, records.Account] = {}
        for tag in tags:
            found.update(self._by_tier_tag.get((tier, tag), {}))
        return found

    def _index(self, account_id: str, acct: records.Account, *, add: bool) -> None:
        """Add the account to (or take it out of) its tier's tag index."""
        for tag in acct.tags:
            key = (acct.tier, tag)
            if add:
                self._by_tier_tag.setdefault(key, {})[account_id] = acct
                continue
            members = self._by_tier_tag.get(key)
            if members is not None:
                members.pop(account_id, None)
                if not members:
                    del self._by_tier_tag[key]

    def _pick(
        self,
        candidates: Iterable[tuple[str, records.Account]],
        params: base.AcquireParams,
        tier: Tier,
        tally: outcomes.ExhaustionTally,
    ) -> list[str]:
        """The best-scoring eligible accounts among ``candidates`` (ties all returned).
        Every acquire runs this over a tier's accounts: the parameters are read once."""
        best: list[str] = []
        best_score = 0.0
        default_total = params.defaults[tier].total
        exclude, now, mode, cost = params.exclude, params.now, params.mode, params.cost
        max_inflight, policy, product = params.max_inflight, params.policy, params.product
        for account_id, acct in candidates:
            if exclude and account_id in exclude:
                continue
            status = acct.status
            if status is not AccountStatus.ACTIVE and status is not AccountStatus.COOLING:
                continue
            if product and product in acct.refused:
                tally.refused()
                continue
            if status is AccountStatus.COOLING and acct.cooling_until > now:
                tally.cooling(acct.cooling_until)
                continue
            window = acct.windows.get(mode)
            if window is None:
                remaining, reset_at = default_total, 0.0
            else:
                remaining, reset_at = window.remaining, window.reset_at
                if 0 < reset_at <= now:
                    remaining = window.total
            if remaining < cost:
                tally.no_quota(reset_at)
            elif acct.inflight >= max_inflight or self._egresses.full(acct.egress):
                tally.busy()
            else:
                score = _score(policy, remaining, acct)
                if acct.failed_at and now - acct.failed_at < base.RECENT_FAILURE_SECONDS:
                    score -= base.DEMOTION
                if not best or score > best_score:
                    best, best_score = [account_id], score
                elif score == best_score:
                    best.append(account_id)
        return best

    def _reserve(
        self, acct: records.Account, account_id: str, params: base.AcquireParams, tier: Tier
    ) -> None:
        default = params.defaults[tier]
        window = acct.windows.get(params.mode)
        if window is None:
            window = records.Window(
                remaining=default.total,
                total=default.total,
                window_seconds=default.window_seconds,
                reset_at=0.0,
                source=QuotaSource.DEFAULT,
            )
            acct.windows[params.mode] = window
        if 0 < window.reset_at <= params.now:
            window.remaining, window.reset_at = window.total, 0.0
        if window.reset_at == 0:
            window.reset_at = params.now + window.window_seconds
        if window.source is QuotaSource.REAL:
            window.source = QuotaSource.ESTIMATED
        window.remaining -= params.cost
        acct.status = AccountStatus.ACTIVE
        acct.inflight += 1
        acct.last_used = params.now
        self._egresses.lease(acct.egress, 1)
        self._earliest_expiry = min(self._earliest_expiry, params.expires_at)
        self._leases[params.lease_id] = records.Lease(
            account_id=account_id, mode=params.mode, cost=params.cost,
            expires_at=params.expires_at, product=params.product, egress=acct.egress,
        )  # fmt: skip

    def _release(self, params: base.ReleaseParams) -> base.ReleaseResult | None:
        lease = self._leases.pop(params.lease_id, None)
        if lease is not None:
            self._egresses.lease(lease.egress, -1)
        account_id = lease.account_id if lease else params.account_id
        mode = lease.mode if lease else params.mode
        acct = self._accounts.get(account_id)
        if acct is None:
            return None
        previous = acct.status
        if lease is not None:
            acct.inflight = max(0, acct.inflight - 1)
        window = acct.windows.get(mode)
        effect = outcomes.effect_of(params.outcome)
        if lease is not None and effect.refund and window is not None:
            window.remaining = min(window.total, window.remaining + lease.cost)
        if effect.failed:
            acct.failed_at = params.now
        if params.outcome is Outcome.PRODUCT_REFUSED and lease is not None and lease.product:
            acct.refused.add(lease.product)
        if params.outcome is Outcome.SUCCESS and lease is not None:
            acct.fails = acct.streak = 0
            acct.failed_at = 0.0
            self._transient_run.clear()
        if params.outcome is Outcome.TRANSIENT and lease is not None:
            self._transient(account_id, acct, params)
        if effect.blame and lease is not None:
            acct.fails += 1
            if acct.fails >= params.fail_threshold and acct.status is not AccountStatus.DISABLED:
                acct.status = AccountStatus.INVALID
                self._unusable.add(account_id)
        if params.outcome is Outcome.RATE_LIMITED:
            until = outcomes.cooldown_end(
                now=params.now,
                retry_after=params.retry_after,
                reset_at=window.reset_at if window else 0.0,
                window_seconds=window.window_seconds if window else params.default_window_seconds,
            )
            if window is not None:
                window.remaining, window.reset_at = 0, until
            if acct.status in (AccountStatus.ACTIVE, AccountStatus.COOLING):
                acct.status = AccountStatus.COOLING
                acct.cooling_until = max(acct.cooling_until, until)
        self._apply_figures(acct, params.figures, params.now)
        return base.ReleaseResult(
            account_id=account_id, status=acct.status, previous_status=previous,
            held=lease is not None,
        )  # fmt: skip

    def _transient(
        self, account_id: str, acct: records.Account, params: base.ReleaseParams
    ) -> None:
        run = self._transient_run
        outage = outcomes.outage_size(len(self._accounts) - len(self._unusable))
        if len(run) >= outage:
            return
        run.add(account_id)
        acct.streak += 1
        cools = acct.status in (AccountStatus.ACTIVE, AccountStatus.COOLING)
        if acct.streak >= params.transient_threshold and cools:
            until = outcomes.transient_cooldown_end(
                now=params.now,
                streak=acct.streak,
                threshold=params.transient_threshold,
                base=params.transient_cooldown,
            )
            acct.status = AccountStatus.COOLING
            acct.transient_until = until
            acct.cooling_until = max(acct.cooling_until, until)
        if len(run) >= outage:
            self._forgive(run, now=params.now)

    def _forgive(self, run: set[str], *, now: float) -> None:
        """The upstream, not these accounts, was failing: lift the cooldowns the run gave."""
        for account_id in run:
            acct = self._accounts.get(account_id)
            if acct is None:
                continue
            if acct.transient_until > now:
                cooling = acct.status is AccountStatus.COOLING
                if cooling and acct.cooling_until <= acct.transient_until:
                    acct.status, acct.cooling_until = AccountStatus.ACTIVE, 0.0
                acct.transient_until = 0.0
            acct.streak = 0

    def _apply_figures(
        self, acct: records.Account, figures: Sequence[QuotaFigures], now: float
    ) -> None:
        for figure in figures:
            window = acct.windows.get(figure.mode)
            total = figure.total if figure.total is not None else (window.total if window else 0)
            total = max(total, figure.remaining)
            seconds = figure.window_seconds or (window.window_seconds if window else 7200)
            reset_at = outcomes.reset_after_figure(
                remaining=figure.remaining,
                total=total,
                previous_reset=window.reset_at if window else 0.0,
                window_seconds=seconds,
                now=now,
            )
            acct.windows[figure.mode] = records.Window(
                remaining=figure.remaining,
                total=total,
                window_seconds=seconds,
                reset_at=reset_at,
                source=QuotaSource.REAL,
            )

    async def put(self, seed: base.AccountSeed) -> None:
        acct = self._accounts.get(seed.account_id)
        if acct is None:
            acct = records.Account(tier=seed.tier, status=AccountStatus.ACTIVE)
            self._accounts[seed.account_id] = acct
        self._by_tier[acct.tier].pop(seed.account_id, None)
        self._index(seed.account_id, acct, add=False)
        acct.tier, acct.tags = seed.tier, tuple(seed.tags)
        self._by_tier[seed.tier][seed.account_id] = acct
        self._index(seed.account_id, acct, add=True)
        if seed.reset:
            acct.fails = acct.streak = 0
        if seed.clear_refusals:
            acct.refused.clear()
        acct.status = outcomes.merged_status(
            current=acct.status, base_status=seed.base_status, reset=seed.reset
        )
        if acct.status in (AccountStatus.INVALID, AccountStatus.DISABLED):
            self._unusable.add(seed.account_id)
        else:
            self._unusable.discard(seed.account_id)
        for window in seed.quota:
            acct.windows.setdefault(
                window.mode,
                records.Window(
                    remaining=window.remaining,
                    total=window.total,
                    window_seconds=window.window_seconds,
                    reset_at=window.reset_at or 0.0,
                    source=window.source,
                ),
            )

    async def remove(self, account_id: str) -> None:
        acct = self._accounts.pop(account_id, None)
        self._unusable.discard(account_id)
        if acct is not None:
            self._by_tier[acct.tier].pop(account_id, None)
            self._index(account_id, acct, add=False)
            self._egresses.bind(acct.egress, -1)

    async def bind_egress(
        self, account_id: str, *, candidates: Sequence[str], prefer: str = ""
    ) -> str | None:
        acct = self._accounts.get(account_id)
        if acct is None:
            return None
        if acct.egress in candidates:
            return acct.egress
        if not acct.egress and prefer in candidates:
            chosen = prefer
        else:
            chosen = self._egresses.least_bound(candidates)
        self._egresses.bind(acct.egress, -1)
        self._egresses.bind(chosen, 1)
        acct.egress = chosen
        return chosen

    async def set_egress_caps(self, caps: Mapping[str, int]) -> None:
        self._egresses.set_caps(caps)

    async def egress_loads(self) -> dict[str, base.EgressLoad]:
        return self._egresses.loads()

    async def carries_tags(self, tags: Sequence[str]) -> bool:
        return any((tier, tag) in self._by_tier_tag for tier in Tier for tag in tags)

    async def apply_usage(
        self, account_id: str, *, figures: Sequence[QuotaFigures], now: float
    ) -> None:
        acct = self._accounts.get(account_id)
        if acct is not None:
            self._apply_figures(acct, figures, now)
            acct.last_refresh = now
            acct.refused.clear()

    async def accounts(
        self, account_ids: Sequence[str] | None = None
    ) -> dict[str, base.HotAccount]:
        ids = list(self._accounts) if account_ids is None else account_ids
        return {i: records.view(i, self._accounts[i]) for i in ids if i in self._accounts}

    async def leases_in_flight(self) -> int:
        return len(self._leases)

    async def renew(self, lease_id: str, *, expires_at: float) -> bool:
        lease = self._leases.get(lease_id)
        if lease is None:
            return False
        self._leases[lease_id] = dataclasses.replace(lease, expires_at=expires_at)
        return True

    async def reclaim(self, *, now: float) -> int:
        return self._reclaim(now)

    def _reclaim(self, now: float) -> int:
        if now < self._earliest_expiry:
            return 0
        expired = [lid for lid, lease in self._leases.items() if lease.expires_at <= now]
        for lease_id in expired:
            lease = self._leases.pop(lease_id)
            self._egresses.lease(lease.egress, -1)
            acct = self._accounts.get(lease.account_id)
            if acct is not None:
                acct.inflight = max(0, acct.inflight - 1)
        self._earliest_expiry = min(
            (lease.expires_at for lease in self._leases.values()), default=float("inf")
        )
        return len(expired)

    async def is_ready(self) -> bool:
        return self._ready

    async def mark_ready(self) -> None:
        self._ready = True

def _score(policy: str, remaining: int, acct: records.Account) -> float:
    if policy == "random":
        return 0.0
    if policy == "round_robin":
        return -acct.last_used
    return remaining - base.INFLIGHT_PENALTY * acct.inflight
