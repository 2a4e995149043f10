"""The settings, cache and dashboard APIs as the single-process mode wires them: behind the
admin check, on the process's own settings, files and metrics."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
from admin import app as admin_app
from grok2api_cli import admin_wiring
from grok2api_media.blobs import BlobStore
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import crypto, protocols

BEARER = {"Authorization": "Bearer grok2api"}


async def test_the_single_process_panel_serves_settings_cache_and_dashboard(
    tmp_path: Path, store: protocols.Store, cipher: crypto.CredentialCipher
) -> None:
    live = LiveSettings(Settings(data_dir=tmp_path))
    app = admin_app.create_app(settings=live, pool=None)  # type: ignore[arg-type]
    blobs = BlobStore.from_settings(live.current)
    await blobs.put_bytes("image", b"x" * 10, content_type="image/png")
    admin_wiring.attach_panel(
        app, live=live, overrides=store.settings_overrides, cipher=cipher, bus=None,
        blobs=blobs, single_process=True,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://admin.test"
    ) as http:
        for path in ("/api/settings", "/api/settings/diff", "/api/cache", "/api/dashboard"):
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers=BEARER)).status_code == 200, path
        changed = await http.put(
            "/api/settings", json={"values": {"chat.stream": True}}, headers=BEARER
        )
        assert changed.status_code == 200, changed.text
        cache = (await http.get("/api/cache", headers=BEARER)).json()
        board = (await http.get("/api/dashboard", headers=BEARER)).json()
    assert live.current.chat.stream is True
    assert cache["scope"] == "all" and cache["by_type"]["image"] == {"bytes": 10, "files": 1}
    assert cache["limit_bytes"] == 1024 * 1024 * 1024
    assert board["source"] == "registry" and "pool" in board and "history" in board
