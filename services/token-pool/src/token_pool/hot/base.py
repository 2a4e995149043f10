"""The hot-state contract every backend implements, and the policies it enforces.

Selection (``acquire``), for the model's quota mode, over the candidate tiers in fallback
order (basic → super → heavy, starting at the model's minimum tier; with a preferred tier
the tiers at or above it come first, ``quotas.preferred_order``):

* eligible: status active (a cooling account whose cooldown has passed counts as active),
  not excluded, not refused the model's product (below), remaining quota in the mode's
  window ≥ cost (a window whose reset time has passed is full again), in-flight leases
  < ``max_inflight``;
* the first tier with an eligible account wins; within it accounts whose last lease failed
  in the last ``RECENT_FAILURE_SECONDS`` come last, and the policy picks:
  ``most_remaining`` (default) the highest ``remaining - INFLIGHT_PENALTY * inflight``,
  ``random`` any eligible account, ``round_robin`` the least recently leased one;
  ties are broken at random. A tier larger than ``SAMPLE_SIZE`` is first searched in a
  random sample of that many accounts (the whole tier only when the sample has no eligible
  one), so the cost of a pick stays flat as the pool grows and, for big pools, "most
  remaining" holds within the sample (the power of k random choices);
* the cost is reserved (remaining decremented, window started if it was not) and the
  in-flight count incremented in the same atomic step, and a lease recorded until
  ``expires_at``, which the holder may push back (``renew``) while its call runs. Expired
  leases are reclaimed lazily by every acquire and by ``reclaim``: the in-flight slot comes
  back, the reserved cost does not (the holder may have used it).

A pinned acquire (``AcquireParams.account_id``, continuing a conversation only that account
holds) considers that account alone, in the candidate tier it belongs to, by the same
eligibility rules: it is leased, or the acquire is exhausted for the reason it gives
(``no_account_of_tier`` when it is disabled, invalid, unknown or of a tier the model cannot
use). Never another account.

An acquire restricted to account tags (``AcquireParams.tags``, a client key bound to a
team's accounts) considers only accounts carrying at least one of them, pinned acquires
included: never another account, however much quota it has. The tier's candidates are then
the accounts of the tier carrying a tag (an index kept by ``put``, so an operator's tag
change applies from the next acquire), searched like a tier: a random ``SAMPLE_SIZE`` of
them first, then all of them. An account without the tags is passed over without a count,
so the exhaustion reason speaks of the tagged accounts only (``leasing`` adds the tags to
the message, and answers ``no_tagged_account`` when ``carries_tags`` finds no account with
any of them at all).

When nothing is eligible ``errors.PoolExhausted`` says why: ``no_account_of_tier`` (no
usable account of any candidate tier), ``all_busy`` (some at their cap), ``all_cooling``
or ``no_quota``, with ``retry_at`` the earliest cooldown end or window reset, else
``no_account_for_product`` (the only usable accounts left were refused the product).

Outcomes (``release``):

* success: failure count and transient streak reset to 0;
* rate_limited: the mode's remaining set to 0 until the cooldown ends (its window refills
  then), and the account cools until ``retry_after``
  from now, else the window's reset time, else a full window from now;
* invalid_credential and forbidden: failure count +1, the reserved cost refunded; at
  ``fail_threshold`` consecutive failures the account becomes invalid. Forbidden counts
  because a 403 that is not a Cloudflare page is the upstream refusing this account;
* transient (5xx, a reset or refused connection, TLS failure, no first byte, an empty
  answer): cost refunded; the account's transient streak +1, and from ``transient_threshold``
  in a row it cools for ``transient_cooldown`` seconds, doubled for each further failure
  (``outcomes.transient_cooldown_end``), until a success resets the streak. The pool keeps
  the run of accounts that failed transiently since the last success anywhere: once it
  holds half the usable (neither invalid nor disabled) accounts (``outcomes.outage_size``)
  the failures are the upstream's, not the accounts': the cooldowns and streaks the run
  gave are lifted, and further transient failures blame nobody until a success ends it;
* challenge (Cloudflare) and upstream_error (the upstream refused the request itself):
  cost refunded, nobody blamed;
* cancelled: nothing changes but the slot; the upstream may have counted the query;
* product_refused (the upstream does not offer this account the lease's product: image for
  the catalogue kinds image and image_edit, video for video): the account is refused that
  product, so acquires for any model of it pass it by, until its next successful usage
  refresh (``apply_usage``) or an operator edit (``AccountSeed.clear_refusals``) clears its
  refusals; the cost is refunded and nothing else changes: no failure count, transient
  streak, cooldown, recent-failure ranking or status. The product is the one recorded with
  the lease at acquire time, so a release of an unknown lease records no refusal.

Egresses (``bind_egress``, ``set_egress_caps``): an account may be bound to one egress, the
way out its calls take. The binding is sticky: ``bind_egress`` keeps the account's egress
while it is among the candidates given (the healthy egresses serving its tags), else moves
it to the candidate with the fewest bound accounts (the first given on a tie), or to
``NO_EGRESS`` when there is none (the candidate ``""`` is "no egress": a pool without any);
an account bound to ``NO_EGRESS`` is never leased. An
egress with a cap (``set_egress_caps``) holds at most that many leases at once: while it is
at its cap its accounts count as busy, so an acquire picks an account of another egress or
answers ``all_busy``. The lease remembers its egress, so a release or a reclaim gives the
slot back to the egress it was taken from even if the account moved meanwhile. An account
never bound (a pool without egresses) is leased without one.

Quota figures in a release or a usage refresh overwrite the mode's window (``real``).
A release of an unknown (already released or reclaimed) lease applies only idempotent
effects (figures, cooldown), never a failure count, slot or refund twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Literal, Protocol, TypeAlias

from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, QuotaWindow
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier

from ..quotas import DefaultWindow

INFLIGHT_PENALTY = 0.5
# An account whose last lease failed (any outcome but success, cancelled and upstream_error)
# within this many seconds ranks below every account without such a failure, whatever the
# policy: a failure refunds the cost, so "most remaining" would otherwise prefer the very
# accounts that keep failing. It stays eligible: it is chosen when nothing else is free.
RECENT_FAILURE_SECONDS = 120.0
DEMOTION = 1e12
# Accounts examined per tier and acquire before the whole tier is searched. In Redis the
# script runs on the single Redis thread for every replica, so its cost must not grow with N.
SAMPLE_SIZE = 16
BaseStatus = Literal["active", "invalid", "disabled"]
# The binding of an account that no usable egress serves (none healthy carries its tags).
NO_EGRESS = "-"


class NotReady(Exception):
    """The hot state is empty (first start, or Redis lost its data): rebuild it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountSeed:
    """What the durable store says about an account, loaded into the hot state.

    ``quota`` fills windows the hot state does not hold yet; ``reset`` (credential changed
    or re-enabled) clears the failure count and an ``invalid`` status; ``clear_refusals``
    (an operator edited the account) forgets the products the upstream refused it.
    """

    account_id: str
    tier: Tier
    base_status: BaseStatus
    quota: tuple[QuotaWindow, ...] = ()
    reset: bool = False
    clear_refusals: bool = False
    tags: tuple[str, ...] = ()  # replaces the account's tags (the store holds them all)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AcquireParams:
    tiers: tuple[Tier, ...]
    mode: str
    cost: int
    exclude: frozenset[str]
    lease_id: str
    now: float
    expires_at: float
    max_inflight: int
    policy: str
    defaults: Mapping[Tier, DefaultWindow]
    product: str = ""  # the model's product ("image", "video"; "" = chat): see product_refused
    account_id: str = ""  # the one account to consider (a pinned acquire); "" = any
    tags: tuple[str, ...] = ()  # only accounts carrying one of these (cleaned); () = any


@dataclasses.dataclass(frozen=True, kw_only=True)
class Reservation:
    account_id: str
    tier: Tier
    egress_id: str = ""  # the account's egress at the time; "" = not bound to any


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseParams:
    lease_id: str
    account_id: str
    mode: str
    cost: int
    outcome: Outcome
    now: float
    retry_after: float | None
    figures: tuple[QuotaFigures, ...]
    fail_threshold: int
    default_window_seconds: int
    transient_threshold: int = 1
    transient_cooldown: float = 10.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseResult:
    account_id: str
    status: AccountStatus
    previous_status: AccountStatus
    held: bool = True
    """False when the lease was released already or reclaimed: nothing more to count."""


# What an acquire in a batch came to: a reservation, or why there is none.
AcquireAnswer: TypeAlias = Reservation | errors.PoolExhausted | NotReady


@dataclasses.dataclass(frozen=True, kw_only=True)
class BatchResult:
    """One answer per item of a batch, in the order the items were given."""

    released: list[ReleaseResult | None]
    acquired: list[AcquireAnswer]


@dataclasses.dataclass(frozen=True, kw_only=True)
class HotAccount:
    account_id: str
    tier: Tier
    status: AccountStatus
    cooling_until: float | None
    inflight: int
    fail_count: int
    last_refresh_at: float | None
    quota: tuple[QuotaWindow, ...]
    refused: tuple[str, ...] = ()  # products refused, sorted; cleared by a usage refresh
    last_used_at: float | None = None  # the last lease; None when never leased here
    tags: tuple[str, ...] = ()  # as the last put gave them
    egress_id: str = ""  # bound egress; "" = none, NO_EGRESS = none can serve it


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressLoad:
    """An egress as the hot state counts it, across every replica."""

    bound: int  # accounts bound to it
    inflight: int  # leases through it


class HotState(Protocol):
    async def run_batch(
        self, *, releases: Sequence[ReleaseParams], acquires: Sequence[AcquireParams]
    ) -> BatchResult:
        """Apply ``releases`` then ``acquires`` in one atomic step, each item as if alone.

        A release's answer is None when its account no longer exists. An acquire selects
        and reserves; its answer is the ``PoolExhausted`` (or ``NotReady``) when nothing
        can be reserved. A failing backend raises ``PoolUnavailable`` for the whole batch.
        """
        ...

    async def put(self, seed: AccountSeed) -> None:
        """Add an account or update its tier/status, keeping its live counters."""
        ...

    async def remove(self, account_id: str) -> None: ...

    async def carries_tags(self, tags: Sequence[str]) -> bool:
        """Whether any account (any tier or status) carries at least one of ``tags``."""
        ...

    async def apply_usage(
        self, account_id: str, *, figures: Sequence[QuotaFigures], now: float
    ) -> None:
        """Overwrite windows with the upstream's figures (``real``) after a refresh, and
        clear the products the account was refused."""
        ...

    async def accounts(self, account_ids: Sequence[str] | None = None) -> dict[str, HotAccount]:
        """Live state of the given accounts (all when None); unknown ids are left out."""
        ...

    async def leases_in_flight(self) -> int: ...

    async def bind_egress(
        self, account_id: str, *, candidates: Sequence[str], prefer: str = ""
    ) -> str | None:
        """Bind the account (see the module docstring) and answer its egress id, or
        ``NO_EGRESS``; ``prefer`` (its stored binding) wins over the least bound candidate
        for an account not bound yet. None when the account is unknown."""
        ...

    async def set_egress_caps(self, caps: Mapping[str, int]) -> None:
        """Replace every egress's cap on concurrent leases (0: none); egresses left out
        are forgotten (their bound and in-flight counts go when nothing refers to them)."""
        ...

    async def egress_loads(self) -> dict[str, EgressLoad]:
        """Bound accounts and leases in flight per egress id."""
        ...

    async def renew(self, lease_id: str, *, expires_at: float) -> bool:
        """Move a held lease's expiry to ``expires_at``; False when it is gone (released or
        reclaimed). A lease past its expiry that was not reclaimed yet is still held."""
        ...

    async def reclaim(self, *, now: float) -> int:
        """Reclaim expired leases; the number reclaimed."""
        ...

    async def is_ready(self) -> bool: ...

    async def mark_ready(self) -> None: ...

    async def try_lock(self, name: str, *, ttl_seconds: float) -> str | None:
        """Take a named lock shared by every replica; a token to unlock with, or None."""
        ...

    async def unlock(self, name: str, token: str) -> None: ...

    async def publish(self, message: bytes) -> None:
        """Send a change notice to every replica's ``subscribe`` iterators."""
        ...

    def subscribe(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...
