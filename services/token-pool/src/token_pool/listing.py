"""The account listing: filter, sort and page the pool's accounts in memory.

Live fields (status, remaining quota, last use, in-flight) are not in the store, so
neither the status filter nor the orders by them can be pushed down to it: every listing
overlays all the matches with their hot state, sorts, then cuts the page. Reading 10,000
records from the store (credentials decrypted) takes seconds, so the durable part is kept
in a ``Catalogue``: loaded once, then kept current by ``forget(id)`` (this replica's own
writes and every change notice of the others) and reloaded whole after ``MAX_AGE_SECONDS``
in case a notice was missed. A listing then costs one hot-state read of the matches, or,
when it is ordered by a durable field (id, creation) and filtered by none that is live, of
the page alone: the admin panel's default view of 10,000 accounts reads 50 of them.

Page tokens are offsets into the sorted matches; ties are broken by account id ascending,
so the pages of an unchanged pool are complete and never repeat an account.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from grok2api_poolclient import accounts, errors
from grok2api_poolclient.leases import Tier
from grok2api_storage import protocols
from grok2api_storage import records as stored

from . import records
from .hot import base

MAX_AGE_SECONDS = 300.0
MAX_PAGE = 1000

# The orders whose keys are durable: the matches are sorted before the hot state is read.
_DURABLE_KEYS: dict[accounts.AccountSort, Callable[[stored.AccountRecord], Any]] = {
    accounts.AccountSort.ID: lambda r: r.id,
    accounts.AccountSort.CREATED: lambda r: r.created_at,
}
_SORT_KEYS: dict[accounts.AccountSort, Callable[[accounts.Account], Any]] = {
    accounts.AccountSort.ID: lambda a: a.account_id,
    accounts.AccountSort.REMAINING: lambda a: a.remaining,
    accounts.AccountSort.LAST_USED: lambda a: a.last_used_at or 0.0,
    accounts.AccountSort.FAILURES: lambda a: a.fail_count,
    accounts.AccountSort.CREATED: lambda a: a.created_at,
}


class Catalogue:
    """The durable records, by id, kept in memory for listings (see the module doc)."""

    def __init__(
        self,
        *,
        repo: protocols.AccountRepository,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repo = repo
        self._monotonic = monotonic
        self._records: dict[str, stored.AccountRecord] | None = None
        self._stale: set[str] = set()
        self._loaded_at = 0.0

    def forget(self, account_id: str) -> None:
        """The account changed (or went): read it again at the next listing."""
        self._stale.add(account_id)

    async def records(self) -> list[stored.AccountRecord]:
        if self._records is None or self._monotonic() - self._loaded_at > MAX_AGE_SECONDS:
            self._stale.clear()
            self._loaded_at = self._monotonic()
            self._records = {r.id: r async for r in self._repo.iter_all()}
        while self._stale:
            account_id = self._stale.pop()
            record = await self._repo.get(account_id)
            if record is None:
                self._records.pop(account_id, None)
            else:
                self._records[account_id] = record
        return list(self._records.values())


def _matches(record: stored.AccountRecord, *, tag: str | None, search: str | None) -> bool:
    if tag is not None and tag.strip() not in record.tags:
        return False
    if search:
        term = search.strip().lower()
        return term in record.id.lower() or term in record.note.lower()
    return True


async def page(
    *,
    catalogue: Catalogue,
    repo: protocols.AccountRepository,
    hot: base.HotState,
    now: float,
    tier: Tier | None,
    status: accounts.AccountStatus | None,
    tag: str | None,
    search: str | None,
    page_size: int,
    page_token: str,
    sort: accounts.AccountSort,
    descending: bool,
) -> accounts.AccountPage:
    try:
        offset = int(page_token or 0)
    except ValueError as exc:
        raise errors.InvalidRequest("malformed page token") from exc
    size = max(1, min(page_size or 100, MAX_PAGE))
    found = [r for r in await catalogue.records() if _matches(r, tag=tag, search=search)]
    if search and not found:  # a pasted credential finds its account (by fingerprint)
        owner = await repo.find_by_credential(search.strip())
        if owner is not None and _matches(owner, tag=tag, search=None):
            found = [owner]
    if sort in _DURABLE_KEYS and tier is None and status is None:
        _order(found, tie=lambda r: r.id, key=_DURABLE_KEYS[sort], descending=descending)
        chosen = found[offset : offset + size]
        live = await hot.accounts([r.id for r in chosen])
        views = [records.view_of(r, live.get(r.id), now=now) for r in chosen]
        return _page(views, end=offset + size, total=len(found))
    live = await hot.accounts([r.id for r in found])
    views = [records.view_of(r, live.get(r.id), now=now) for r in found]
    if tier is not None:  # the live tier: a usage refresh may have inferred it
        views = [v for v in views if v.tier is tier]
    if status is not None:
        views = [v for v in views if v.status is status]
    _order(views, tie=lambda a: a.account_id, key=_SORT_KEYS[sort], descending=descending)
    return _page(views[offset : offset + size], end=offset + size, total=len(views))


def _order(
    items: list[Any], *, tie: Callable[[Any], Any], key: Callable[[Any], Any], descending: bool
) -> None:
    items.sort(key=tie)  # ties by id, ascending whatever the order
    items.sort(key=key, reverse=descending)  # stable: ties keep their id order


def _page(views: list[accounts.Account], *, end: int, total: int) -> accounts.AccountPage:
    return accounts.AccountPage(
        accounts=tuple(views), next_page_token=str(end) if end < total else "", total=total
    )
