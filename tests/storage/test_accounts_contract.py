"""AccountRepository behaviours, identical on SQLite, PostgreSQL, MariaDB and Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from grok2api_storage import errors, protocols
from grok2api_storage.records import (
    AccountFilter,
    AccountPatch,
    AccountStatus,
    AccountTier,
    NewAccount,
    QuotaCheckpoint,
    QuotaSource,
    QuotaWindow,
)

from . import support

CREDENTIAL = "sso=eyJhbGciOiJIUzI1NiJ9.secret-session-value-0001"


def credential(n: int) -> str:
    return f"sso=eyJhbGciOiJIUzI1NiJ9.session-{n:05d}-payload"


async def test_adds_an_account_and_reads_it_back(store: protocols.Store) -> None:
    reset = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    quota = {"fast": QuotaWindow(remaining=70, total=80, window_seconds=72000, reset_at=reset)}
    added = await store.accounts.add(
        NewAccount(
            credential=f"  {CREDENTIAL}\n",
            tier=AccountTier.SUPER,
            tags=("x", "y"),
            note="first",
            quota=quota,
        )
    )
    assert added.credential == CREDENTIAL
    assert added.status is AccountStatus.ACTIVE and added.enabled and added.fail_count == 0
    got = await store.accounts.get(added.id)
    assert got == added
    assert got is not None and got.quota["fast"].reset_at == reset
    assert got.created_at.tzinfo is not None


async def test_returns_none_for_an_unknown_account(store: protocols.Store) -> None:
    assert await store.accounts.get("0" * 32) is None
    assert await store.accounts.find_by_credential("sso=nothing-like-this") is None


async def test_refuses_to_add_the_same_credential_twice(store: protocols.Store) -> None:
    first = await store.accounts.add(NewAccount(credential=CREDENTIAL))
    with pytest.raises(errors.DuplicateError, match=first.id):
        await store.accounts.add(NewAccount(credential=CREDENTIAL + " "))
    assert (await store.accounts.list()).total == 1


async def test_refuses_a_blank_credential(store: protocols.Store) -> None:
    with pytest.raises(errors.InvalidRecordError):
        await store.accounts.add(NewAccount(credential="   "))


async def test_finds_an_account_by_its_credential(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential=CREDENTIAL))
    assert await store.accounts.find_by_credential(CREDENTIAL) == added


async def test_upsert_creates_then_updates_without_reviving(store: protocols.Store) -> None:
    created = await store.accounts.upsert(NewAccount(credential=CREDENTIAL, note="one"))
    assert created.created
    await store.accounts.update(created.account.id, AccountPatch(status=AccountStatus.INVALID))
    again = await store.accounts.upsert(
        NewAccount(credential=CREDENTIAL, tier=AccountTier.BASIC, tags=("imported",))
    )
    assert not again.created and again.account.id == created.account.id
    assert again.account.tier is AccountTier.BASIC and again.account.tags == ("imported",)
    assert again.account.note == "one"
    assert again.account.status is AccountStatus.INVALID


async def test_updates_the_given_fields_only(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential=CREDENTIAL, note="keep", tags=("a",)))
    used = datetime.now(UTC)
    quota = {
        "auto": QuotaWindow(remaining=3, total=140, window_seconds=7200, source=QuotaSource.REAL)
    }
    updated = await store.accounts.update(
        added.id,
        AccountPatch(
            status=AccountStatus.COOLING,
            tier=AccountTier.HEAVY,
            fail_count=2,
            quota=quota,
            last_used_at=used,
            tags=("b", "a", "b"),
            enabled=False,
        ),
    )
    assert updated.note == "keep" and updated.credential == CREDENTIAL
    assert (updated.status, updated.tier, updated.fail_count) == (
        AccountStatus.COOLING,
        AccountTier.HEAVY,
        2,
    )
    assert updated.tags == ("b", "a") and not updated.enabled
    assert updated.updated_at >= added.updated_at
    assert await store.accounts.get(added.id) == updated
    cleared = await store.accounts.update(added.id, AccountPatch(tier=None, last_used_at=None))
    assert cleared.tier is None and cleared.last_used_at is None


async def test_updating_a_missing_account_raises_not_found(store: protocols.Store) -> None:
    with pytest.raises(errors.NotFoundError):
        await store.accounts.update("f" * 32, AccountPatch(note="x"))


async def test_changes_the_credential_unless_another_account_holds_it(
    store: protocols.Store,
) -> None:
    one = await store.accounts.add(NewAccount(credential=credential(1)))
    two = await store.accounts.add(NewAccount(credential=credential(2)))
    with pytest.raises(errors.DuplicateError):
        await store.accounts.update(two.id, AccountPatch(credential=credential(1)))
    moved = await store.accounts.update(two.id, AccountPatch(credential=credential(3)))
    assert moved.credential == credential(3)
    assert await store.accounts.find_by_credential(credential(2)) is None
    assert (await store.accounts.find_by_credential(credential(3))) == moved
    assert (await store.accounts.find_by_credential(credential(1))) == one


async def test_lists_with_filters_and_paging(store: protocols.Store) -> None:
    ids = []
    for n in range(7):
        account = await store.accounts.add(
            NewAccount(
                credential=credential(n),
                tier=AccountTier.SUPER if n % 2 else AccountTier.BASIC,
                tags=("even",) if n % 2 == 0 else ("odd", "x"),
                note=f"Batch-{n} 100%_done",
            )
        )
        ids.append(account.id)
    await store.accounts.update(ids[3], AccountPatch(status=AccountStatus.COOLING))
    await store.accounts.update(ids[4], AccountPatch(enabled=False))

    page = await store.accounts.list(offset=2, limit=3)
    assert page.total == 7 and [a.id for a in page.items] == ids[2:5]

    async def listed(**filters: object) -> list[str]:
        found = await store.accounts.list(filters=AccountFilter(**filters), limit=100)  # type: ignore[arg-type]
        assert found.total == len(found.items)
        return [a.id for a in found.items]

    assert await listed(tier=AccountTier.SUPER) == [ids[1], ids[3], ids[5]]
    assert await listed(status=AccountStatus.COOLING) == [ids[3]]
    assert await listed(tag="odd", tier=AccountTier.SUPER, status=AccountStatus.ACTIVE) == [
        ids[1],
        ids[5],
    ]
    assert await listed(enabled=False) == [ids[4]]
    assert await listed(search="batch-6") == [ids[6]]
    assert await listed(search="100%_") == ids
    assert await listed(search="0%x") == []
    assert await listed(search=credential(2)) == [ids[2]]
    assert await listed(search=ids[5][:12]) == [ids[5]]
    assert await listed(tag="nope") == []


async def test_removes_an_account_and_frees_its_credential(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential=CREDENTIAL, tags=("t",)))
    assert await store.accounts.remove(added.id)
    assert not await store.accounts.remove(added.id)
    assert await store.accounts.get(added.id) is None
    assert (await store.accounts.list(filters=AccountFilter(tag="t"))).total == 0
    again = await store.accounts.add(NewAccount(credential=CREDENTIAL))
    assert again.id != added.id


async def test_iterates_over_every_account_in_batches(store: protocols.Store) -> None:
    counts = await store.accounts.bulk_upsert(
        NewAccount(credential=credential(n)) for n in range(23)
    )
    assert counts.added == 23
    seen = [account.credential async for account in store.accounts.iter_all(batch_size=5)]
    assert sorted(seen) == sorted(credential(n) for n in range(23))


async def test_bulk_import_counts_added_updated_and_skipped(store: protocols.Store) -> None:
    await store.accounts.add(NewAccount(credential=credential(1), note="old"))
    await store.accounts.add(NewAccount(credential=credential(2), note="same"))
    counts = await store.accounts.bulk_upsert(
        [
            NewAccount(credential=credential(1), note="new"),  # updated
            NewAccount(credential=credential(2), note="same"),  # unchanged: skipped
            NewAccount(credential=credential(3)),  # added
            NewAccount(credential=credential(3), note="dup"),  # repeat in batch: skipped
            NewAccount(credential=" "),  # blank: skipped
            NewAccount(credential=credential(4), tier=AccountTier.SUPER),  # added
        ]
    )
    assert (counts.added, counts.updated, counts.skipped) == (2, 1, 3)
    one = await store.accounts.find_by_credential(credential(1))
    assert one is not None and one.note == "new"
    listing = await store.accounts.list(limit=10)
    assert [a.credential for a in listing.items] == [credential(n) for n in (1, 2, 3, 4)]


async def test_bulk_import_can_leave_existing_accounts_alone(store: protocols.Store) -> None:
    await store.accounts.add(NewAccount(credential=credential(1), note="old"))
    counts = await store.accounts.bulk_upsert(
        [NewAccount(credential=credential(1), note="new"), NewAccount(credential=credential(2))],
        update_existing=False,
    )
    assert (counts.added, counts.updated, counts.skipped) == (1, 0, 1)
    one = await store.accounts.find_by_credential(credential(1))
    assert one is not None and one.note == "old"


async def test_bulk_import_keeps_the_input_order_across_chunks(store: protocols.Store) -> None:
    counts = await store.accounts.bulk_upsert(
        NewAccount(credential=credential(n)) for n in range(520)
    )
    assert counts.added == 520
    page = await store.accounts.list(offset=495, limit=10)
    assert page.total == 520
    assert [a.credential for a in page.items] == [credential(n) for n in range(495, 505)]


async def test_concurrent_upserts_of_one_credential_store_it_once(
    store: protocols.Store,
) -> None:
    results = await asyncio.gather(
        *(store.accounts.upsert(NewAccount(credential=CREDENTIAL, note=f"n{n}")) for n in range(8))
    )
    assert sum(result.created for result in results) == 1
    assert len({result.account.id for result in results}) == 1
    assert (await store.accounts.list()).total == 1


async def test_never_stores_the_credential_in_plain_text(store: protocols.Store) -> None:
    await store.accounts.add(NewAccount(credential=CREDENTIAL, note="note"))
    await store.accounts.bulk_upsert([NewAccount(credential=credential(7))])
    raw = await support.raw_contents(store)
    assert "note" in raw  # the dump really holds the rows
    assert CREDENTIAL not in raw and "secret-session-value" not in raw
    assert credential(7) not in raw


async def test_records_mask_the_credential(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential=CREDENTIAL))
    assert CREDENTIAL not in repr(added)
    assert added.masked_credential == "sso=…0001"


async def test_timestamps_survive_a_round_trip_in_utc(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential=CREDENTIAL))
    when = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC) + timedelta(hours=0)
    await store.accounts.update(added.id, AccountPatch(last_used_at=when))
    got = await store.accounts.get(added.id)
    assert got is not None and got.last_used_at == when


async def test_accepts_plain_strings_for_status_and_tier_and_refuses_unknown_ones(
    store: protocols.Store,
) -> None:
    added = await store.accounts.add(NewAccount(credential=CREDENTIAL))
    patch = AccountPatch(status="cooling", tier="super")  # type: ignore[arg-type]
    updated = await store.accounts.update(added.id, patch)
    assert (updated.status, updated.tier) == (AccountStatus.COOLING, AccountTier.SUPER)
    with pytest.raises(errors.InvalidRecordError):
        await store.accounts.update(added.id, AccountPatch(status="sleeping"))  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRecordError):
        await store.accounts.update(added.id, AccountPatch(credential=" "))
    assert await store.accounts.get(added.id) == updated


async def test_saves_many_quota_checkpoints_at_once(store: protocols.Store) -> None:
    first = await store.accounts.add(NewAccount(credential=credential(1), tags=("t",)))
    second = await store.accounts.add(NewAccount(credential=credential(2), note="kept"))
    used = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    reset = datetime(2031, 5, 6, 9, 0, 0, tzinfo=UTC)
    window = QuotaWindow(remaining=12, total=40, window_seconds=7200, reset_at=reset,
                         source=QuotaSource.REAL)  # fmt: skip
    written = await store.accounts.save_quotas({
        first.id: QuotaCheckpoint(quota={"auto": window}, last_used_at=used),
        second.id: QuotaCheckpoint(quota={"auto": window, "fast": window}),
        "no-such-account": QuotaCheckpoint(quota={"auto": window}),  # removed meanwhile
    })  # fmt: skip
    assert written == 2
    one, two = await store.accounts.get(first.id), await store.accounts.get(second.id)
    assert one is not None and two is not None
    assert one.quota == {"auto": window} and one.last_used_at == used
    assert one.tags == ("t",) and one.credential == credential(1)  # the rest untouched
    assert two.quota == {"auto": window, "fast": window} and two.note == "kept"
    assert await store.accounts.get("no-such-account") is None
    assert await store.accounts.save_quotas({}) == 0
