"""The account's grok.com user id: stored, patched and forgotten alike on SQLite,
PostgreSQL, MariaDB and Redis (an older schema gaining it: test_migrations)."""

from __future__ import annotations

import pytest
from grok2api_storage import errors, protocols
from grok2api_storage.records import AccountPatch, AccountTier, NewAccount

USER_ID = "5f0c2b9e-3d7a-4b1e-9c2f-0a1b2c3d4e5f"


async def test_a_new_account_has_no_user_id(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential="sso=user-id-new-account"))
    assert added.user_id == ""
    assert (await store.accounts.get(added.id)).user_id == ""  # type: ignore[union-attr]


async def test_a_recorded_user_id_reads_back_everywhere(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential="sso=user-id-round-trip"))
    updated = await store.accounts.update(added.id, AccountPatch(user_id=f" {USER_ID} "))
    assert updated.user_id == USER_ID
    assert updated.credential == added.credential
    got = await store.accounts.get(added.id)
    assert got is not None and got.user_id == USER_ID
    found = await store.accounts.find_by_credential("sso=user-id-round-trip")
    assert found is not None and found.user_id == USER_ID
    assert [r.user_id async for r in store.accounts.iter_all() if r.id == added.id] == [USER_ID]
    page = await store.accounts.list()
    assert [r.user_id for r in page.items if r.id == added.id] == [USER_ID]


async def test_other_changes_keep_the_user_id(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential="sso=user-id-kept"))
    await store.accounts.update(added.id, AccountPatch(user_id=USER_ID))
    patched = await store.accounts.update(added.id, AccountPatch(note="n", tags=("a",)))
    assert patched.user_id == USER_ID
    result = await store.accounts.upsert(
        NewAccount(credential="sso=user-id-kept", tier=AccountTier.SUPER)
    )
    assert not result.created and result.account.user_id == USER_ID


async def test_a_new_credential_forgets_the_user_id(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential="sso=user-id-old-credential"))
    await store.accounts.update(added.id, AccountPatch(user_id=USER_ID))
    changed = await store.accounts.update(
        added.id, AccountPatch(credential="sso=user-id-new-credential")
    )
    assert changed.user_id == ""
    assert (await store.accounts.get(added.id)).user_id == ""  # type: ignore[union-attr]
    both = await store.accounts.update(
        added.id, AccountPatch(credential="sso=user-id-third", user_id=USER_ID)
    )
    assert both.user_id == USER_ID


async def test_an_over_long_user_id_is_refused(store: protocols.Store) -> None:
    added = await store.accounts.add(NewAccount(credential="sso=user-id-too-long"))
    with pytest.raises(errors.InvalidRecordError):
        await store.accounts.update(added.id, AccountPatch(user_id="x" * 65))
