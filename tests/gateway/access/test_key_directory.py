"""``KeyDirectory``: client keys read through a one-second cache, over a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gateway import errors
from gateway.access.directory import KeyDirectory
from grok2api_settings import Settings
from grok2api_storage import StorageUnavailableError, load_cipher, open_store, protocols


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingKeys:
    """The real repository, counting reads; ``down`` makes reads fail as a lost database."""

    def __init__(self, inner: protocols.ClientKeyRepository):
        self.inner = inner
        self.finds = 0
        self.any_calls = 0
        self.down = False

    async def find(self, plain_key: str) -> Any:
        self.finds += 1
        if self.down:
            raise StorageUnavailableError("database unreachable")
        await asyncio.sleep(0)  # a real read yields: let concurrent callers pile up
        return await self.inner.find(plain_key)

    async def any_exist(self) -> bool:
        self.any_calls += 1
        if self.down:
            raise StorageUnavailableError("database unreachable")
        return await self.inner.any_exist()


@pytest.fixture
async def keys(tmp_path: Path) -> AsyncIterator[protocols.ClientKeyRepository]:
    settings = Settings.model_validate({"data_dir": str(tmp_path)})
    store = await open_store(settings, cipher=load_cipher(settings, allow_generate=True))
    await store.migrate()
    try:
        yield store.client_keys
    finally:
        await store.aclose()


async def test_a_key_is_read_once_per_second_and_changes_show_after_it(
    keys: protocols.ClientKeyRepository,
) -> None:
    clock = Clock()
    counting = CountingKeys(keys)
    directory = KeyDirectory(counting, clock=clock)  # type: ignore[arg-type]
    created = await keys.create(name="team")

    found = await asyncio.gather(*(directory.find(created.plain_key) for _ in range(20)))
    assert {record.id for record in found if record is not None} == {created.record.id}
    assert counting.finds == 1  # twenty concurrent misses, one read

    await keys.revoke(created.record.id)
    clock.now += 0.9
    cached = await directory.find(created.plain_key)
    assert cached is not None and cached.refusal(cached.created_at) is None
    clock.now += 0.2  # past the second: the revocation is seen
    fresh = await directory.find(created.plain_key)
    assert fresh is not None and fresh.refusal(fresh.created_at) == "revoked"
    assert counting.finds == 2


async def test_unknown_keys_and_the_first_key_created(
    keys: protocols.ClientKeyRepository,
) -> None:
    clock = Clock()
    directory = KeyDirectory(keys, clock=clock)
    assert await directory.any_exist() is False
    assert await directory.find("g2a-not-a-key-at-all") is None
    await keys.create(name="first")
    assert await directory.any_exist() is False  # within the second
    clock.now += 1.01
    assert await directory.any_exist() is True


async def test_a_lost_store_serves_the_last_answer_and_is_retried_each_second(
    keys: protocols.ClientKeyRepository,
) -> None:
    clock = Clock()
    counting = CountingKeys(keys)
    directory = KeyDirectory(counting, clock=clock)  # type: ignore[arg-type]
    created = await keys.create(name="team")
    assert await directory.find(created.plain_key) is not None

    counting.down = True
    clock.now += 5
    still = await directory.find(created.plain_key)
    assert still is not None and still.id == created.record.id
    reads = counting.finds
    assert await directory.find(created.plain_key) is not None
    assert counting.finds == reads  # not retried within the second after a failure
    clock.now += 1.01
    await directory.find(created.plain_key)
    assert counting.finds == reads + 1

    with pytest.raises(errors.StoreUnavailable, match="cannot be reached"):
        await directory.find("g2a-never-seen-before-key")  # nothing to fall back on

    counting.down = False
    clock.now += 1.01
    await keys.revoke(created.record.id)
    back = await directory.find(created.plain_key)
    assert back is not None and back.revoked_at is not None
