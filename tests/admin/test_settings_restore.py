"""Overrides stored through the admin API apply when a process starts."""

from __future__ import annotations

import pytest
from grok2api_cli import admin_wiring
from grok2api_cli.bootstrap import StartupError
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import crypto, protocols, settings_secrets


async def test_a_starting_process_applies_the_stored_overrides_secrets_decrypted(
    store: protocols.Store, cipher: crypto.CredentialCipher
) -> None:
    await store.settings_overrides.set_many(
        settings_secrets.seal({"chat.stream": True, "app.api_key": "sk-stored"}, cipher=cipher),
        updated_by="bearer",
    )
    live = LiveSettings(Settings())
    await admin_wiring.restore_overrides(live, store.settings_overrides, cipher)
    assert live.current.chat.stream is True and live.current.app.api_key == "sk-stored"


async def test_a_stored_secret_without_the_key_stops_the_start_naming_the_setting(
    store: protocols.Store, cipher: crypto.CredentialCipher
) -> None:
    await store.settings_overrides.set_many(
        settings_secrets.seal({"app.api_key": "sk-stored"}, cipher=cipher), updated_by="t"
    )
    with pytest.raises(StartupError, match=r"security\.encryption_key"):
        await admin_wiring.restore_overrides(LiveSettings(Settings()), store.settings_overrides,
                                             None)


async def test_a_stored_override_the_model_refuses_stops_the_start_naming_it(
    store: protocols.Store,
) -> None:
    await store.settings_overrides.set_many({"retry.max_retry": -4}, updated_by="t")
    with pytest.raises(StartupError, match=r"retry\.max_retry"):
        await admin_wiring.restore_overrides(LiveSettings(Settings()), store.settings_overrides,
                                             None)
