"""Which account tiers the pool can serve now, for the models list.

``PoolClient`` itself only leases; pools that also report statistics (``stats()``
with per-tier status counts, as the token-pool contract's ``GetStats``) let the models
list mark each model ``available``. Without statistics the answer is ``None`` (unknown).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

SERVING_STATUSES = frozenset({"active", "ok", "healthy"})


async def servable_tiers(pool: Any) -> frozenset[str] | None:
    get_stats = getattr(pool, "stats", None)
    if get_stats is None:
        return None
    try:
        stats = await get_stats()
    except Exception:
        log.warning("pool_stats_unavailable", exc_info=True)
        return None
    tiers: set[str] = set()
    for tier_stats in getattr(stats, "tiers", ()):
        by_status = getattr(tier_stats, "by_status", {}) or {}
        if any(
            count > 0
            for status, count in by_status.items()
            if str(status).lower() in SERVING_STATUSES
        ):
            tiers.add(str(getattr(tier_stats.tier, "value", tier_stats.tier)).lower())
    return frozenset(tiers)
