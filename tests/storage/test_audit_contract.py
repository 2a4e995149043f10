"""AuditRepository behaviours on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from grok2api_storage import protocols
from grok2api_storage.records import AuditEntry

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def entry(n: int, **detail: object) -> AuditEntry:
    return AuditEntry(
        at=T0 + timedelta(seconds=n),
        action="account.update",
        target=f"acct-{n}",
        actor="session:abcd1234",
        client="203.0.113.7",
        detail=detail,
    )


async def test_lists_entries_newest_first_in_pages(store: protocols.Store) -> None:
    for n in range(7):
        await store.audit.add(entry(n, tier="super", index=n))
    first = await store.audit.list(limit=3)
    assert first.total == 7
    assert [e.target for e in first.items] == ["acct-6", "acct-5", "acct-4"]
    second = await store.audit.list(offset=6, limit=3)
    assert [e.target for e in second.items] == ["acct-0"]
    assert second.items[0] == entry(0, tier="super", index=0)


async def test_keeps_identical_entries_apart_in_the_order_added(store: protocols.Store) -> None:
    await store.audit.add(entry(1, step="first"))
    await store.audit.add(entry(1, step="second"))
    await store.audit.add(entry(1, step="second"))
    page = await store.audit.list()
    assert [e.detail["step"] for e in page.items] == ["second", "second", "first"]
    assert page.total == 3


async def test_an_empty_log_lists_nothing(store: protocols.Store) -> None:
    page = await store.audit.list(offset=0, limit=10)
    assert (page.items, page.total, page.offset, page.limit) == ((), 0, 0, 10)
