"""EgressRepository behaviours on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from grok2api_storage import errors, protocols
from grok2api_storage.records import Clearance, ClearanceSource, EgressPatch, NewEgress

PROXY = "socks5h://alice:s3cret-pass@127.0.0.5:1080"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def clearance(cookies: str = "cf_clearance=abc123; __cf_bm=xyz") -> Clearance:
    return Clearance(
        cookies=cookies,
        user_agent="Mozilla/5.0 test",
        obtained_at=T0,
        expires_at=T0 + timedelta(hours=1),
        source=ClearanceSource.SOLVER,
    )


async def test_stores_an_egress_and_reads_it_back_whole(store: protocols.Store) -> None:
    added = await store.egresses.add(
        NewEgress(
            name="office", proxy_url=PROXY, asset_proxy_url="http://127.0.0.6:8888",
            tags=("team-a", " ", "team-a", "team-b"), max_inflight=4, browser="chrome136",
            user_agent="UA", clearance=clearance(),
        )
    )  # fmt: skip
    got = await store.egresses.get(added.id)
    assert got == added
    assert got is not None
    assert (got.name, got.proxy_url, got.tags, got.max_inflight) == (
        "office", PROXY, ("team-a", "team-b"), 4,
    )  # fmt: skip
    assert got.clearance == clearance()
    assert got.masked_proxy == "socks5h://127.0.0.5:1080"
    assert await store.egresses.find_by_name("office") == added


async def test_a_direct_egress_without_clearance(store: protocols.Store) -> None:
    added = await store.egresses.add(NewEgress(name="direct"))
    got = await store.egresses.get(added.id)
    assert got is not None
    assert (got.proxy_url, got.asset_proxy_url, got.clearance, got.enabled) == ("", "", None, True)
    assert got.masked_proxy == "direct"


async def test_secrets_are_neither_in_repr_nor_stored_in_clear(
    store: protocols.Store,
) -> None:
    added = await store.egresses.add(NewEgress(name="x", proxy_url=PROXY, clearance=clearance()))
    assert "s3cret" not in repr(added) and "abc123" not in repr(added)
    dumped = await _raw_dump(store)
    assert "s3cret-pass" not in dumped and "abc123" not in dumped


async def test_names_are_unique_on_add_and_rename(store: protocols.Store) -> None:
    await store.egresses.add(NewEgress(name="one"))
    two = await store.egresses.add(NewEgress(name="two"))
    with pytest.raises(errors.DuplicateError):
        await store.egresses.add(NewEgress(name="one"))
    with pytest.raises(errors.DuplicateError):
        await store.egresses.update(two.id, EgressPatch(name="one"))
    renamed = await store.egresses.update(two.id, EgressPatch(name="three"))
    assert renamed.name == "three"
    assert await store.egresses.find_by_name("two") is None
    # the old name is free again
    await store.egresses.add(NewEgress(name="two"))


async def test_lists_oldest_first(store: protocols.Store) -> None:
    for name in ("a", "b", "c"):
        await store.egresses.add(NewEgress(name=name))
    assert [e.name for e in await store.egresses.list()] == ["a", "b", "c"]


async def test_a_patch_changes_only_its_fields(store: protocols.Store) -> None:
    added = await store.egresses.add(NewEgress(name="e", proxy_url=PROXY, tags=("t",)))
    patched = await store.egresses.update(
        added.id, EgressPatch(enabled=False, max_inflight=2, clearance=clearance())
    )
    assert (patched.enabled, patched.max_inflight, patched.tags) == (False, 2, ("t",))
    assert patched.proxy_url == PROXY and patched.clearance == clearance()
    assert await store.egresses.get(added.id) == patched


async def test_a_new_proxy_forgets_the_clearance_of_the_old_address(
    store: protocols.Store,
) -> None:
    added = await store.egresses.add(NewEgress(name="e", proxy_url=PROXY, clearance=clearance()))
    moved = await store.egresses.update(added.id, EgressPatch(proxy_url="http://127.0.0.9:3128"))
    assert moved.clearance is None


async def test_refuses_bad_values_without_echoing_the_url(store: protocols.Store) -> None:
    with pytest.raises(errors.InvalidRecordError) as caught:
        await store.egresses.add(NewEgress(name="e", proxy_url="ftp://bob:hunter2@host:21"))
    assert "hunter2" not in str(caught.value)
    with pytest.raises(errors.InvalidRecordError):
        await store.egresses.add(NewEgress(name=" "))
    with pytest.raises(errors.InvalidRecordError):
        await store.egresses.add(NewEgress(name="e", max_inflight=-1))


async def test_update_and_remove_of_an_unknown_egress(store: protocols.Store) -> None:
    with pytest.raises(errors.NotFoundError):
        await store.egresses.update("nope", EgressPatch(enabled=False))
    assert await store.egresses.remove("nope") is False


async def test_bindings_are_kept_and_removed_with_their_egress(store: protocols.Store) -> None:
    one = await store.egresses.add(NewEgress(name="one"))
    two = await store.egresses.add(NewEgress(name="two"))
    await store.egresses.set_bindings({"acc1": one.id, "acc2": two.id, "acc3": one.id})
    await store.egresses.set_bindings({"acc3": two.id, "acc2": None})
    assert await store.egresses.bindings() == {"acc1": one.id, "acc3": two.id}
    assert await store.egresses.remove(one.id) is True
    assert await store.egresses.get(one.id) is None
    assert await store.egresses.bindings() == {"acc3": two.id}
    assert [e.name for e in await store.egresses.list()] == ["two"]


async def _raw_dump(store: protocols.Store) -> str:
    from grok2api_storage import sql_store
    from grok2api_storage.redis_store.store import RedisStore

    if isinstance(store, RedisStore):
        keys = [k async for k in store.redis.scan_iter(match=f"{store.keys.prefix}*")]
        values = []
        for key in keys:
            kind = await store.redis.type(key)
            if kind == "hash":
                values.append(repr(await store.redis.hgetall(key)))
            elif kind == "string":
                values.append(repr(await store.redis.get(key)))
        return "\n".join(values)
    assert isinstance(store, sql_store.SqlStore)
    async with store.database.engine.begin() as conn:
        rows = (await conn.exec_driver_sql("SELECT * FROM egresses")).all()
    return repr(rows)
