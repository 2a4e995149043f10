"""Pure rules shared by both backends (the Redis scripts mirror them line for line)."""

from __future__ import annotations

import dataclasses
import math

from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus
from grok2api_poolclient.leases import Outcome


@dataclasses.dataclass(frozen=True)
class Effect:
    refund: bool  # give the reserved cost back: the upstream did not count the query
    blame: bool  # counts toward fail_threshold
    failed: bool = False  # the account did not answer: ranked last for a while (base.py)


_EFFECTS = {
    Outcome.SUCCESS: Effect(refund=False, blame=False),
    Outcome.RATE_LIMITED: Effect(refund=False, blame=False, failed=True),
    Outcome.INVALID_CREDENTIAL: Effect(refund=True, blame=True, failed=True),
    Outcome.FORBIDDEN: Effect(refund=True, blame=True, failed=True),
    Outcome.CHALLENGE: Effect(refund=True, blame=False, failed=True),
    Outcome.UPSTREAM_ERROR: Effect(refund=True, blame=False),
    Outcome.TRANSIENT: Effect(refund=True, blame=False, failed=True),
    Outcome.CANCELLED: Effect(refund=False, blame=False),
    # marks the account refused the lease's product (base.py); blames and demotes nobody
    Outcome.PRODUCT_REFUSED: Effect(refund=True, blame=False),
}


# A transient cooldown doubles with each further failure in a row, at most this many times.
MAX_DOUBLINGS = 5


def transient_cooldown_end(*, now: float, streak: int, threshold: int, base: float) -> float:
    """When an account that failed transiently ``streak`` times in a row may be picked again."""
    return now + base * 2 ** min(streak - threshold, MAX_DOUBLINGS)


def outage_size(n_usable: int) -> int:
    """Distinct accounts failing transiently with no success anywhere between them that make
    the failures the upstream's (its bad minute), not the accounts': half of the accounts
    that can be leased (neither invalid nor disabled), at least 2."""
    return max(2, math.ceil(n_usable / 2))


def effect_of(outcome: Outcome) -> Effect:
    return _EFFECTS[outcome]


def cooldown_end(
    *, now: float, retry_after: float | None, reset_at: float, window_seconds: int
) -> float:
    """Retry-After wins; else the window's reset time; else a whole window from now."""
    if retry_after is not None and retry_after > 0:
        return now + retry_after
    if reset_at > now:
        return reset_at
    return now + window_seconds


def reset_after_figure(
    *, remaining: int, total: int, previous_reset: float, window_seconds: int, now: float
) -> float:
    """Reset time after an upstream figure: a full window has not started (0); otherwise
    keep a known future reset that fits the window, or assume the window started now (an
    upper bound)."""
    if remaining >= total:
        return 0.0
    if now < previous_reset <= now + window_seconds:
        return previous_reset
    return now + window_seconds


def merged_status(*, current: AccountStatus, base_status: str, reset: bool) -> AccountStatus:
    """Hot status after the durable store's view: disabled/invalid from the store win; an
    active store keeps a live cooldown, and a live ``invalid`` unless ``reset``."""
    if base_status == "disabled":
        return AccountStatus.DISABLED
    if base_status == "invalid":
        return AccountStatus.INVALID
    if current is AccountStatus.COOLING:
        return current
    if current is AccountStatus.INVALID and not reset:
        return current
    return AccountStatus.ACTIVE


class ExhaustionTally:
    """Why nothing was eligible, and when something may be."""

    def __init__(self) -> None:
        self.n_cooling = 0
        self.n_no_quota = 0
        self.n_busy = 0
        self.n_refused = 0
        self.retry_at: float | None = None

    def _earliest(self, at: float) -> None:
        if at > 0 and (self.retry_at is None or at < self.retry_at):
            self.retry_at = at

    def cooling(self, until: float) -> None:
        self.n_cooling += 1
        self._earliest(until)

    def no_quota(self, reset_at: float) -> None:
        self.n_no_quota += 1
        self._earliest(reset_at)

    def busy(self) -> None:
        self.n_busy += 1

    def refused(self) -> None:
        self.n_refused += 1

    def exhausted(self) -> errors.PoolExhausted:
        return exhausted_error(
            n_cooling=self.n_cooling,
            n_no_quota=self.n_no_quota,
            n_busy=self.n_busy,
            retry_at=self.retry_at,
            n_refused=self.n_refused,
        )


def exhausted_error(
    *, n_cooling: int, n_no_quota: int, n_busy: int, retry_at: float | None, n_refused: int = 0
) -> errors.PoolExhausted:
    """Why nothing was eligible: accounts that will come back (busy, cooling, out of quota)
    first; accounts refused the product only when they are all that is left."""
    if n_busy:
        reason = errors.ExhaustedReason.ALL_BUSY
        retry_at = None
    elif n_cooling:
        reason = errors.ExhaustedReason.ALL_COOLING
    elif n_no_quota:
        reason = errors.ExhaustedReason.NO_QUOTA
    elif n_refused:
        return errors.PoolExhausted(
            "every usable account was refused this product by the upstream",
            reason=errors.ExhaustedReason.NO_ACCOUNT_FOR_PRODUCT,
        )
    else:
        return errors.PoolExhausted(
            "no account of the needed tier", reason=errors.ExhaustedReason.NO_ACCOUNT_OF_TIER
        )
    return errors.PoolExhausted(f"no account available: {reason}", reason=reason, retry_at=retry_at)
