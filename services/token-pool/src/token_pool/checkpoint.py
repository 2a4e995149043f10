"""Quota checkpoints: what leases spent in the hot state, written to the durable store.

Leases spend quota in the hot state (Redis in a split deployment); the durable store is
what a rebuilt hot state starts from. Without checkpoints a Redis restart would forget every
unit spent since the account's last usage refresh, and the pool would lease accounts the
upstream has already drained. Each replica notes the accounts its acquires and releases
touched; every ``token.save_delay_ms`` it reads those accounts' windows from the hot state
and writes them in one store transaction, and a stopping pool writes once more. What the
last interval before a crash spent is re-read from the upstream after the rebuild
(``token.refresh_after_rebuild``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from grok2api_jobs import raise_if_cancelling
from grok2api_settings import Settings
from grok2api_storage import protocols
from grok2api_storage import records as stored

from . import records
from .hot import base

log = logging.getLogger(__name__)


class QuotaCheckpointer:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: protocols.AccountRepository,
        hot: base.HotState,
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._hot = hot
        self._touched: set[str] = set()

    def touched(self, account_ids: Iterable[str]) -> None:
        """Accounts whose quota an acquire or release just changed (cheap: a set add)."""
        self._touched.update(account_ids)

    async def checkpoint(self) -> int:
        """Write the touched accounts' windows; how many were written. On a failure the
        accounts stay noted for the next round."""
        if not self._touched:
            return 0
        ids, self._touched = self._touched, set()
        try:
            hot = await self._hot.accounts(sorted(ids))
            written = await self._repo.save_quotas(
                {account_id: _checkpoint(account) for account_id, account in hot.items()}
            )
        except BaseException:
            self._touched |= ids
            raise
        return written

    async def run_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._settings().token.save_delay_ms / 1000)
            await self.checkpoint()
            raise_if_cancelling()  # a cancel the Redis client may have turned into an error

    async def final(self) -> None:
        """The last checkpoint of a stopping pool; a failure is logged, not raised."""
        try:
            written = await self.checkpoint()
        except Exception:
            log.exception("quota_checkpoint_failed_at_stop accounts=%d", len(self._touched))
            return
        if written:
            log.info("quota_checkpoint_at_stop accounts=%d", written)


def _checkpoint(account: base.HotAccount) -> stored.QuotaCheckpoint:
    last = account.last_used_at
    return stored.QuotaCheckpoint(
        quota=records.stored_windows(account.quota),
        last_used_at=datetime.fromtimestamp(last, UTC) if last else None,
    )
