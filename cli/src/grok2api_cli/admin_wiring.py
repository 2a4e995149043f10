"""Runtime settings overrides at start, and the admin panel's settings, cache and dashboard
wiring, shared by the single-process mode and the split targets."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import admin.dashboard
import admin.metrics_source
import admin.panel_state
import admin.settings_editor
from grok2api_media.blobs import BlobStore
from grok2api_settings import Settings, loading
from grok2api_settings.errors import SettingsError
from grok2api_settings.live import ChangeBus, LiveSettings
from grok2api_storage import (
    CredentialCipher,
    EncryptionKeyError,
    StorageError,
    crypto,
    protocols,
    settings_secrets,
)

from .bootstrap import StartupError

log = logging.getLogger(__name__)


async def restore_overrides(
    live: LiveSettings,
    overrides: protocols.SettingsOverrideRepository,
    cipher: CredentialCipher | None,
) -> None:
    """Apply the overrides stored through the admin API (before anything reads settings).
    A stored override the model now refuses stops the start, naming the key."""
    stored = await overrides.get_all()
    if not stored:
        return
    try:
        values = settings_secrets.unseal(stored, cipher=cipher or crypto.NoCipher())
    except StorageError as exc:
        raise StartupError(f"cannot read the stored settings overrides: {exc}") from exc
    try:
        live.apply(values)
    except SettingsError as exc:
        raise StartupError(
            f"{exc} (a runtime override: change it in the admin panel or with DELETE "
            f"/admin/api/settings/{exc.key})"
        ) from exc
    log.info("settings_overrides_restored keys=%s", ",".join(sorted(values)))


def origins() -> Mapping[str, str]:
    """Where each setting not at its default came from (environment or DATA_DIR/config.toml),
    for the settings page; empty when the settings cannot be read again."""
    try:
        return loading.load().origins
    except SettingsError:
        return {}


def attach_panel(
    app: admin.panel_state.App,
    *,
    live: LiveSettings,
    overrides: protocols.SettingsOverrideRepository,
    cipher: CredentialCipher | None,
    bus: ChangeBus | None,
    blobs: BlobStore,
    single_process: bool,
) -> None:
    """The settings editor, the media cache and the dashboard's metrics source of ``app``:
    the process's own registry and files in the single-process mode, the scraped
    ``telemetry.metrics_urls`` and the admin's DATA_DIR/media otherwise."""
    source: admin.metrics_source.Source = (
        admin.metrics_source.RegistrySource()
        if single_process
        else admin.metrics_source.ScrapeSource(lambda: live.current.telemetry.metrics_urls)
    )
    admin.panel_state.attach(
        app,
        editor=admin.settings_editor.SettingsEditor(
            live=live, overrides=overrides, cipher=cipher, bus=bus, origins=origins()
        ),
        cache=blobs,
        cache_scope="all" if single_process else "admin_data_dir",
        board=admin.dashboard.Dashboard(source),
    )


def optional_cipher(settings: Settings) -> CredentialCipher | None:
    """The key of ``security.encryption_key`` in a split target that does not otherwise
    need it (gateway, admin): it decrypts stored secret overrides; None when unset (a
    stored secret override then stops the start, naming the setting)."""
    try:
        return crypto.load_cipher(settings, allow_generate=False)
    except EncryptionKeyError:
        return None
