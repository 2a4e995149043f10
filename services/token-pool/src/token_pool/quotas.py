"""Quota defaults, tier fallback and tier inference.

The seed's figures are defaults, not truths: an account whose usage was never read gets
``DEFAULT_WINDOWS[tier]`` for every mode (marked ``default``); a usage refresh replaces them
with the upstream's figures (``real``); local reservations between refreshes turn them into
``estimated``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable

from grok2api_poolclient.leases import TIER_RANK, QuotaFigures, Tier


@dataclasses.dataclass(frozen=True, kw_only=True)
class DefaultWindow:
    total: int
    window_seconds: int


# Seed: basic 80 per 20 h, super 140 per 2 h. Heavy is not documented by the seed; it gets
# super's figures until its first refresh reads the real ones.
DEFAULT_WINDOWS: dict[Tier, DefaultWindow] = {
    Tier.BASIC: DefaultWindow(total=80, window_seconds=20 * 3600),
    Tier.SUPER: DefaultWindow(total=140, window_seconds=2 * 3600),
    Tier.HEAVY: DefaultWindow(total=140, window_seconds=2 * 3600),
}

# Upstream totals that identify a tier (grok-protocol §8.2: auto and fast windows; the
# seed's 80 and 140 too).
_TIER_BY_TOTAL: dict[str, dict[int, Tier]] = {
    "auto": {7: Tier.BASIC, 20: Tier.BASIC, 50: Tier.SUPER, 150: Tier.HEAVY},
    "fast": {30: Tier.BASIC, 60: Tier.BASIC, 80: Tier.BASIC, 140: Tier.SUPER, 400: Tier.HEAVY},
}


@functools.cache
def candidate_tiers(min_tier: Tier) -> tuple[Tier, ...]:
    """Tiers that may serve a model needing ``min_tier``, cheapest first (the fallback order)."""
    return tuple(t for t in sorted(TIER_RANK, key=TIER_RANK.__getitem__) if _at_least(t, min_tier))


@functools.cache
def preferred_order(tiers: tuple[Tier, ...], prefer: Tier | None) -> tuple[Tier, ...]:
    """``tiers`` with those at or above ``prefer`` first (each group in its own order): the
    selection takes the first tier with an eligible account, so a preferred tier wins when
    it has one and a lower tier still serves when it has none."""
    if prefer is None:
        return tiers
    high = tuple(t for t in tiers if _at_least(t, prefer))
    return high + tuple(t for t in tiers if not _at_least(t, prefer))


def _at_least(tier: Tier, floor: Tier) -> bool:
    return TIER_RANK[tier] >= TIER_RANK[floor]


def infer_tier(figures: Iterable[QuotaFigures]) -> Tier | None:
    """The tier the upstream's totals point to; conflicting signals give the lowest one.

    A ``heavy`` window with a positive total means heavy. None when nothing is conclusive.
    """
    signals: list[Tier] = []
    for figure in figures:
        if figure.total is None:
            continue
        if figure.mode == "heavy" and figure.total > 0:
            signals.append(Tier.HEAVY)
            continue
        tier = _TIER_BY_TOTAL.get(figure.mode, {}).get(figure.total)
        if tier is not None:
            signals.append(tier)
    if not signals:
        return None
    return min(signals, key=TIER_RANK.__getitem__)
