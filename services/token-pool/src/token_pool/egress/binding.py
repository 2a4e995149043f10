"""Binds accounts to egresses: the hot state decides atomically (``bind_egress``), the
durable store keeps a copy so that a hot state rebuilt from scratch (a single-process
restart, a flushed Redis) puts every account back where it was."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from grok2api_storage import protocols

from ..hot import base
from . import registry as registry_mod

log = logging.getLogger(__name__)


class EgressBinder:
    def __init__(
        self,
        *,
        hot: base.HotState,
        repo: protocols.EgressRepository,
        registry: registry_mod.EgressRegistry,
        clock: Callable[[], float],
    ) -> None:
        self._hot = hot
        self._repo = repo
        self._registry = registry
        self._clock = clock
        self._bound_with: frozenset[str] | None = None

    async def bind_all(self) -> int:
        """(Re)bind every account in the hot state; the number that moved."""
        now = self._clock()
        self._bound_with = self._registry.usable(now=now)
        await self._hot.set_egress_caps(self._registry.caps())
        accounts = await self._hot.accounts()
        stored = await self._repo.bindings() if accounts else {}
        moved: dict[str, str | None] = {}
        for account_id, account in accounts.items():
            after = await self._bind(account_id, account.tags, now, prefer=stored.get(account_id))
            if after is not None and stored.get(account_id) != _durable(after):
                moved[account_id] = _durable(after)
        await self._repo.set_bindings(moved)
        if moved:
            log.info("egress_bindings_changed accounts=%d", len(moved))
        return len(moved)

    async def rebind_if_changed(self) -> int:
        """Rebind when the usable egresses changed since the last binding (a cooldown ran
        out: accounts that had none may have one again); the number that moved."""
        if self._registry.usable(now=self._clock()) == self._bound_with:
            return 0
        return await self.bind_all()

    async def bind_one(self, account_id: str, tags: Sequence[str]) -> None:
        """Bind a new or edited account (its tags may have changed)."""
        stored = (await self._repo.bindings()).get(account_id)
        after = await self._bind(account_id, tags, self._clock(), prefer=stored)
        if after is not None and _durable(after) != stored:
            await self._repo.set_bindings({account_id: _durable(after)})

    async def _bind(
        self, account_id: str, tags: Sequence[str], now: float, *, prefer: str | None
    ) -> str | None:
        candidates = self._registry.candidates(tags, now=now)
        bound = await self._hot.bind_egress(account_id, candidates=candidates, prefer=prefer or "")
        if bound == base.NO_EGRESS:
            log.warning(
                "egress_none_for_account account=%s tags=%s: no enabled, healthy egress "
                "serves its tags; it is not leased until one does",
                account_id, ",".join(tags) or "-",
            )  # fmt: skip
        return bound


def _durable(egress_id: str) -> str | None:
    """What the store keeps: real egresses only (no egress, none available: nothing)."""
    return egress_id if egress_id and egress_id != base.NO_EGRESS else None
