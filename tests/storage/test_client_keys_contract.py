"""ClientKeyRepository behaviours on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from grok2api_storage import errors, protocols
from grok2api_storage.records import ClientKeyPatch

from . import support


async def test_creates_a_key_whose_plain_value_is_shown_once(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="ci", allowed_models=["grok-4", "grok-3"])
    plain = created.plain_key
    assert plain.startswith("sk-g2a-") and len(plain) > 40
    assert plain not in repr(created)
    listed = await store.client_keys.list()
    assert listed == (created.record,)
    assert listed[0].masked == plain[:11] + "…"
    assert listed[0].allowed_models == ("grok-4", "grok-3")
    assert listed[0].rate_limit_per_minute is None


async def test_verifies_the_right_key_only(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="app", rate_limit_per_minute=60)
    other = await store.client_keys.create(name="other")
    verified = await store.client_keys.verify(created.plain_key)
    assert verified == created.record and verified.rate_limit_per_minute == 60
    assert await store.client_keys.verify(created.plain_key + "x") is None
    assert await store.client_keys.verify("") is None
    assert await store.client_keys.verify(other.plain_key) == other.record


async def test_a_revoked_key_no_longer_verifies(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="app")
    assert await store.client_keys.revoke(created.record.id)
    assert await store.client_keys.verify(created.plain_key) is None
    got = await store.client_keys.get(created.record.id)
    assert got is not None and not got.enabled
    assert not await store.client_keys.revoke("0" * 32)


async def test_updates_and_deletes_keys(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="app", allowed_models=["grok-4"])
    updated = await store.client_keys.update(
        created.record.id,
        ClientKeyPatch(name="renamed", allowed_models=None, rate_limit_per_minute=5),
    )
    assert (updated.name, updated.allowed_models, updated.rate_limit_per_minute) == (
        "renamed",
        None,
        5,
    )
    assert await store.client_keys.get(created.record.id) == updated
    with pytest.raises(errors.NotFoundError):
        await store.client_keys.update("0" * 32, ClientKeyPatch(name="x"))
    assert await store.client_keys.delete(created.record.id)
    assert not await store.client_keys.delete(created.record.id)
    assert await store.client_keys.verify(created.plain_key) is None
    assert await store.client_keys.list() == ()


async def test_records_when_a_key_was_used(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="app")
    when = datetime(2030, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    await store.client_keys.mark_used(created.record.id, at=when)
    await store.client_keys.mark_used("0" * 32)
    got = await store.client_keys.get(created.record.id)
    assert got is not None and got.last_used_at == when
    assert await store.client_keys.get("0" * 32) is None


async def test_imports_a_given_key_once(store: protocols.Store) -> None:
    plain = "legacy-client-key-0123456789"
    created = await store.client_keys.create(name="legacy", plain_key=plain)
    assert created.plain_key == plain
    assert await store.client_keys.verify(plain) == created.record
    with pytest.raises(errors.DuplicateError):
        await store.client_keys.create(name="again", plain_key=plain)
    with pytest.raises(errors.InvalidRecordError):
        await store.client_keys.create(name="short", plain_key="short")
    with pytest.raises(errors.InvalidRecordError):
        await store.client_keys.create(name=" ")


async def test_never_stores_the_plain_key(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="visible-name")
    raw = await support.raw_contents(store)
    assert "visible-name" in raw
    assert created.plain_key not in raw
    assert created.plain_key[11:] not in raw
