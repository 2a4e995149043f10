"""The client-keys API: a secret answered once, limits changed, revoked keys refused by
the store, every change audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from admin import app as admin_app
from fastapi import FastAPI
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import protocols

BEARER = {"Authorization": "Bearer keys-test-admin"}


@pytest.fixture
def app(tmp_path: Path, store: protocols.Store) -> FastAPI:
    settings = Settings.model_validate(
        {"data_dir": tmp_path, "app": {"app_key": "keys-test-admin"}}
    )
    built = admin_app.create_app(settings=LiveSettings(settings), pool=None)  # type: ignore[arg-type]
    built.state.client_keys = store.client_keys
    return built


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://admin.test", headers=BEARER
    ) as client:
        yield client


async def test_a_created_key_is_answered_once_and_listed_by_its_prefix_only(
    http: httpx2.AsyncClient, store: protocols.Store
) -> None:
    created = await http.post("/api/keys", json={"name": "ci", "rate_limit_per_minute": 30})

    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert (await store.client_keys.verify(secret)) is not None
    listed = (await http.get("/api/keys")).json()["items"]
    assert [(k["name"], k["rate_limit_per_minute"], k["enabled"]) for k in listed] == [
        ("ci", 30, True)
    ]
    assert secret not in (await http.get("/api/keys")).text
    assert secret.startswith(listed[0]["prefix"])


async def test_limits_are_changed_and_cleared(http: httpx2.AsyncClient) -> None:
    key = (await http.post("/api/keys", json={"name": "app", "rate_limit_per_minute": 5})).json()
    key_id = key["item"]["id"]

    changed = await http.patch(
        f"/api/keys/{key_id}", json={"allowed_models": ["grok-4"], "rate_limit_per_minute": None}
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_models"] == ["grok-4"]
    assert changed.json()["rate_limit_per_minute"] is None


async def test_a_revoked_key_no_longer_verifies(
    http: httpx2.AsyncClient, store: protocols.Store
) -> None:
    key = (await http.post("/api/keys", json={"name": "old"})).json()

    revoked = await http.delete(f"/api/keys/{key['item']['id']}")

    assert revoked.status_code == 200
    assert revoked.json()["enabled"] is False
    assert await store.client_keys.verify(key["secret"]) is None


async def test_bad_input_and_unknown_keys_are_refused(http: httpx2.AsyncClient) -> None:
    assert (await http.post("/api/keys", json={"name": " "})).status_code == 400
    assert (
        await http.post("/api/keys", json={"name": "x", "rate_limit_per_minute": 0})
    ).status_code == 400
    assert (await http.patch("/api/keys/nope", json={"name": "y"})).status_code == 404
    assert (await http.delete("/api/keys/nope")).status_code == 404


async def test_every_change_is_audited(http: httpx2.AsyncClient, app: FastAPI) -> None:
    key = (await http.post("/api/keys", json={"name": "audited"})).json()["item"]
    await http.patch(f"/api/keys/{key['id']}", json={"rate_limit_per_minute": 9})
    await http.delete(f"/api/keys/{key['id']}")

    entries = (await http.get("/api/audit")).json()["items"]

    assert [e["action"] for e in entries] == [
        "client_key.revoke",
        "client_key.update",
        "client_key.create",
    ]
    assert {e["target"] for e in entries} == {key["id"]}
