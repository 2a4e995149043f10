"""Opening a store from settings: the local default, and clear errors when unreachable."""

from __future__ import annotations

from pathlib import Path

import pytest
from grok2api_settings import Settings
from grok2api_storage import crypto, errors, open_store
from grok2api_storage.records import NewAccount


async def test_the_default_store_is_sqlite_in_the_data_dir(
    tmp_path: Path, cipher: crypto.CredentialCipher
) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path / "fresh" / "data")})
    async with await open_store(settings, cipher=cipher) as store:
        await store.migrate()
        await store.accounts.add(NewAccount(credential="sso=stored-in-the-local-file"))
    assert (tmp_path / "fresh" / "data" / "grok2api.db").is_file()
    async with await open_store(settings, cipher=cipher) as store:
        assert (await store.accounts.list()).items[0].credential == "sso=stored-in-the-local-file"


@pytest.mark.parametrize(
    ("storage_type", "url"),
    [
        ("pgsql", "postgresql://postgres:hunter2secret@127.0.0.1:1/test"),
        ("pgsql", "postgresql://nobody_here:hunter2secret@127.0.0.1:5432/test"),
        ("mysql", "mysql://root:hunter2secret@127.0.0.1:1/test"),
        ("mysql", "mysql://root:hunter2secret@127.0.0.1:3306/test"),
        ("redis", "redis://:hunter2secret@127.0.0.1:1/0"),
    ],
)
async def test_an_unusable_server_fails_at_open_naming_the_setting(
    storage_type: str, url: str, cipher: crypto.CredentialCipher
) -> None:
    settings = Settings.model_validate(
        {"server": {"storage_type": storage_type, "storage_url": url}}
    )
    with pytest.raises(errors.StorageUnavailableError, match=r"server\.storage_url") as caught:
        await open_store(settings, cipher=cipher)
    assert "hunter2secret" not in str(caught.value)
    assert "****" in str(caught.value)
    assert caught.value.__cause__ is not None


async def test_a_store_opened_without_a_cipher_serves_client_keys_but_not_accounts(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path)})
    async with await open_store(settings) as store:
        await store.migrate()
        created = await store.client_keys.create(name="gateway")
        assert await store.client_keys.find(created.plain_key) == created.record
        with pytest.raises(errors.EncryptionKeyError, match=r"security\.encryption_key"):
            await store.accounts.add(NewAccount(credential="sso=needs-a-key-to-store"))
        assert (await store.accounts.list()).total == 0
