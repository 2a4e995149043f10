"""ClientKeyRepository behaviours on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from grok2api_storage import errors, protocols
from grok2api_storage.records import ClientKeyLimits, ClientKeyPatch, QuotaUnit

from . import support

FULL_LIMITS = ClientKeyLimits(
    allowed_models=("grok-4", "grok-3"),
    rate_limit_per_minute=60,
    max_concurrent=3,
    quota_unit=QuotaUnit.COST,
    daily_quota=1_000,
    monthly_quota=5_000_000_000,
    account_tags=("team-a", "eu"),
    expires_at=datetime(2031, 6, 7, 8, 9, 10, 123456, tzinfo=UTC),
)


async def test_creates_a_key_whose_plain_value_is_shown_once(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="ci")
    plain = created.plain_key
    assert plain.startswith("g2a-") and not plain.startswith("sk-") and len(plain) == 4 + 43
    assert plain not in repr(created)
    listed = await store.client_keys.list()
    assert listed == (created.record,)
    assert listed[0].masked == plain[:8] + "…"
    assert listed[0].limits == ClientKeyLimits()
    assert (listed[0].enabled, listed[0].revoked_at, listed[0].last_used_at) == (True, None, None)
    assert listed[0].refusal(datetime.now(UTC)) is None


async def test_every_limit_round_trips(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="full", limits=FULL_LIMITS)
    assert created.record.limits == FULL_LIMITS
    assert await store.client_keys.get(created.record.id) == created.record
    assert await store.client_keys.find(created.plain_key) == created.record
    assert await store.client_keys.list() == (created.record,)


async def test_limits_are_normalised(store: protocols.Store) -> None:
    paris = timezone(timedelta(hours=2))
    created = await store.client_keys.create(
        name="  spaced  ",
        limits=ClientKeyLimits(
            allowed_models=(" grok-4", "grok-4", "", "grok-3 "),
            account_tags=("a", " a ", "b"),
            expires_at=datetime(2031, 1, 1, 2, 0, tzinfo=paris),
        ),
    )
    got = await store.client_keys.get(created.record.id)
    assert got is not None and got.name == "spaced"
    assert got.limits.allowed_models == ("grok-4", "grok-3")
    assert got.limits.account_tags == ("a", "b")
    assert got.limits.expires_at == datetime(2031, 1, 1, 0, 0, tzinfo=UTC)
    assert got.limits.expires_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (ClientKeyLimits(rate_limit_per_minute=0), "rate_limit_per_minute must be a positive"),
        (ClientKeyLimits(max_concurrent=-1), "max_concurrent must be a positive"),
        (ClientKeyLimits(daily_quota=0), "daily_quota must be a positive"),
        (ClientKeyLimits(monthly_quota=True), "monthly_quota must be a positive"),  # type: ignore[arg-type]
        (ClientKeyLimits(allowed_models=()), "use None for no restriction"),
        (ClientKeyLimits(account_tags=(" ", "")), "use None for no restriction"),
        (ClientKeyLimits(expires_at=datetime(2031, 1, 1)), "timezone-aware"),
        (ClientKeyLimits(quota_unit="tokens"), "quota_unit must be one of"),  # type: ignore[arg-type]
    ],
)
async def test_refuses_bad_limits_on_create_and_update(
    store: protocols.Store, limits: ClientKeyLimits, message: str
) -> None:
    with pytest.raises(errors.InvalidRecordError, match=message):
        await store.client_keys.create(name="bad", limits=limits)
    assert not await store.client_keys.any_exist()
    created = await store.client_keys.create(name="good")
    changes = {
        name: getattr(limits, name)
        for name in ClientKeyPatch.__dataclass_fields__
        if name in ClientKeyLimits.__dataclass_fields__
        and getattr(limits, name) != getattr(ClientKeyLimits(), name)
    }
    with pytest.raises(errors.InvalidRecordError, match=message):
        await store.client_keys.update(created.record.id, ClientKeyPatch(**changes))
    assert await store.client_keys.get(created.record.id) == created.record


async def test_finds_the_right_key_only(store: protocols.Store) -> None:
    created = await store.client_keys.create(
        name="app", limits=ClientKeyLimits(rate_limit_per_minute=60)
    )
    other = await store.client_keys.create(name="other")
    found = await store.client_keys.find(created.plain_key)
    assert found == created.record and found.limits.rate_limit_per_minute == 60
    assert await store.client_keys.find(created.plain_key + "x") is None
    assert await store.client_keys.find("") is None
    assert await store.client_keys.find(other.plain_key) == other.record


async def test_any_exist_counts_revoked_keys_too(store: protocols.Store) -> None:
    assert not await store.client_keys.any_exist()
    created = await store.client_keys.create(name="app")
    assert await store.client_keys.any_exist()
    await store.client_keys.revoke(created.record.id)
    assert await store.client_keys.any_exist()
    await store.client_keys.delete(created.record.id)
    assert not await store.client_keys.any_exist()


async def test_a_revoked_key_is_found_but_refused_for_good(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="app")
    before = datetime.now(UTC)
    revoked = await store.client_keys.revoke(created.record.id)
    assert revoked is not None and revoked.revoked_at is not None
    assert revoked.revoked_at >= before - timedelta(seconds=1) and not revoked.enabled
    found = await store.client_keys.find(created.plain_key)
    assert found == revoked and found.refusal(datetime.now(UTC)) == "revoked"
    assert await store.client_keys.get(created.record.id) == revoked
    again = await store.client_keys.revoke(created.record.id)
    assert again is not None and again.revoked_at == revoked.revoked_at
    with pytest.raises(errors.InvalidRecordError, match="revoked"):
        await store.client_keys.update(created.record.id, ClientKeyPatch(enabled=True))
    renamed = await store.client_keys.update(created.record.id, ClientKeyPatch(name="old"))
    assert (renamed.name, renamed.enabled, renamed.revoked_at) == ("old", False, revoked.revoked_at)
    assert await store.client_keys.revoke("0" * 32) is None


async def test_concurrent_revokes_keep_one_time(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="app")
    results = await asyncio.gather(*(store.client_keys.revoke(created.record.id) for _ in range(5)))
    assert len({result.revoked_at for result in results if result is not None}) == 1


async def test_disabled_and_expired_keys_are_found_with_their_refusal(
    store: protocols.Store,
) -> None:
    now = datetime.now(UTC)
    expiring = await store.client_keys.create(
        name="temp", limits=ClientKeyLimits(expires_at=now + timedelta(hours=1))
    )
    found = await store.client_keys.find(expiring.plain_key)
    assert found is not None
    assert found.refusal(now) is None
    assert found.refusal(now + timedelta(hours=1)) == "expired"
    disabled = await store.client_keys.update(expiring.record.id, ClientKeyPatch(enabled=False))
    found = await store.client_keys.find(expiring.plain_key)
    assert found == disabled and found.refusal(now) == "disabled"
    enabled = await store.client_keys.update(
        expiring.record.id, ClientKeyPatch(enabled=True, expires_at=None)
    )
    assert enabled.refusal(now + timedelta(days=999)) is None


async def test_updates_every_field_and_deletes_keys(store: protocols.Store) -> None:
    created = await store.client_keys.create(
        name="app", limits=ClientKeyLimits(allowed_models=("grok-4",))
    )
    patch = ClientKeyPatch(
        name="renamed",
        allowed_models=None,
        rate_limit_per_minute=5,
        max_concurrent=FULL_LIMITS.max_concurrent,
        quota_unit=FULL_LIMITS.quota_unit,
        daily_quota=FULL_LIMITS.daily_quota,
        monthly_quota=FULL_LIMITS.monthly_quota,
        account_tags=FULL_LIMITS.account_tags,
        expires_at=FULL_LIMITS.expires_at,
    )
    updated = await store.client_keys.update(created.record.id, patch)
    assert updated.name == "renamed"
    assert updated.limits == ClientKeyLimits(
        allowed_models=None,
        rate_limit_per_minute=5,
        max_concurrent=3,
        quota_unit=QuotaUnit.COST,
        daily_quota=1_000,
        monthly_quota=5_000_000_000,
        account_tags=("team-a", "eu"),
        expires_at=FULL_LIMITS.expires_at,
    )
    assert await store.client_keys.get(created.record.id) == updated
    cleared = await store.client_keys.update(
        created.record.id,
        ClientKeyPatch(daily_quota=None, account_tags=None, quota_unit=QuotaUnit.REQUESTS),
    )
    assert (cleared.limits.daily_quota, cleared.limits.account_tags) == (None, None)
    assert cleared.limits.quota_unit is QuotaUnit.REQUESTS
    assert cleared.limits.monthly_quota == 5_000_000_000
    assert await store.client_keys.get(created.record.id) == cleared
    with pytest.raises(errors.NotFoundError):
        await store.client_keys.update("0" * 32, ClientKeyPatch(name="x"))
    assert await store.client_keys.delete(created.record.id)
    assert not await store.client_keys.delete(created.record.id)
    assert await store.client_keys.find(created.plain_key) is None
    assert await store.client_keys.list() == ()


async def test_mark_used_only_moves_forward(store: protocols.Store) -> None:
    first = await store.client_keys.create(name="first")
    second = await store.client_keys.create(name="second")
    when = datetime(2030, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    await store.client_keys.mark_used(
        {first.record.id: when, second.record.id: when - timedelta(days=1), "0" * 32: when}
    )
    await store.client_keys.mark_used({})
    got_first = await store.client_keys.get(first.record.id)
    got_second = await store.client_keys.get(second.record.id)
    assert got_first is not None and got_first.last_used_at == when
    assert got_second is not None and got_second.last_used_at == when - timedelta(days=1)
    assert await store.client_keys.get("0" * 32) is None
    await store.client_keys.mark_used({first.record.id: when - timedelta(microseconds=1)})
    await store.client_keys.mark_used({first.record.id: when.replace(microsecond=0)})
    got_first = await store.client_keys.get(first.record.id)
    assert got_first is not None and got_first.last_used_at == when
    later = when + timedelta(seconds=1)
    await store.client_keys.mark_used({first.record.id: later})
    got_first = await store.client_keys.get(first.record.id)
    assert got_first is not None and got_first.last_used_at == later


async def test_imports_a_given_key_once(store: protocols.Store) -> None:
    plain = "legacy-client-key-0123456789"
    created = await store.client_keys.create(name="legacy", plain_key=plain)
    assert created.plain_key == plain and created.record.prefix == "lega"
    assert await store.client_keys.find(plain) == created.record
    with pytest.raises(errors.DuplicateError):
        await store.client_keys.create(name="again", plain_key=plain)
    with pytest.raises(errors.InvalidRecordError):
        await store.client_keys.create(name="short", plain_key="short")
    with pytest.raises(errors.InvalidRecordError):
        await store.client_keys.create(name=" ")


async def test_an_old_style_key_keeps_working(store: protocols.Store) -> None:
    plain = "sk-g2a-" + "A" * 43
    created = await store.client_keys.create(name="old", plain_key=plain)
    assert created.record.prefix == "sk-g2a-AAAA"
    assert await store.client_keys.find(plain) == created.record


async def test_never_stores_the_plain_key(store: protocols.Store) -> None:
    created = await store.client_keys.create(name="visible-name")
    raw = await support.raw_contents(store)
    assert "visible-name" in raw
    assert created.plain_key not in raw
    assert created.plain_key[8:] not in raw
