"""Fixtures of the admin API tests: a migrated SQLite store in a temporary DATA_DIR."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grok2api_settings import Settings
from grok2api_storage import crypto, factory, protocols


@pytest.fixture
def cipher() -> crypto.CredentialCipher:
    return crypto.CredentialCipher(key=crypto.generate_key(), source="the test key")


@pytest.fixture
async def store(tmp_path: Path, cipher: crypto.CredentialCipher) -> AsyncIterator[protocols.Store]:
    opened = await factory.open_store(Settings(data_dir=tmp_path), cipher=cipher)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.aclose()
