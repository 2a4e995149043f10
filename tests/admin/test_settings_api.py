"""The settings API: every setting described, changes validated, stored (secrets
encrypted), applied here and on other replicas through the change bus, reset, diffed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest
import redis.asyncio as aioredis
from admin import audit, settings_editor
from admin.routers import settings as settings_router
from fastapi import FastAPI
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings, RedisBus
from grok2api_storage import crypto, protocols

REDIS_URL = "redis://127.0.0.1:6379/0"


def build(
    *, live: LiveSettings, store: protocols.Store, cipher: crypto.CredentialCipher,
    bus: Any = None, origins: dict[str, str] | None = None,
) -> FastAPI:
    app = FastAPI()
    app.include_router(settings_router.router, prefix="/api")
    app.state.audit_log = audit.MemoryAuditLog()
    app.state.settings_editor = settings_editor.SettingsEditor(
        live=live, overrides=store.settings_overrides, cipher=cipher, bus=bus,
        origins=origins or {},
    )
    return app


@pytest.fixture
async def live() -> LiveSettings:
    return LiveSettings(Settings())


@pytest.fixture
async def http(
    live: LiveSettings, store: protocols.Store, cipher: crypto.CredentialCipher
) -> AsyncIterator[httpx.AsyncClient]:
    app = build(live=live, store=store, cipher=cipher, origins={"log.level": "env:LOG_LEVEL"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://admin.test"
    ) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for section in body["sections"] for row in section["settings"]}


async def test_lists_every_setting_by_section_with_its_documentation(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/api/settings")).json()
    names = [section["name"] for section in body["sections"]]
    assert names[:3] == ["general", "app", "network"]
    listed = rows(body)
    stream = listed["chat.stream"]
    assert stream["type"] == "boolean" and stream["default"] is False
    assert stream["source"] == "default" and stream["differs"] is False
    assert stream["restart_required"] is None and stream["editable"] is True
    assert listed["chat.reasoning_format"]["choices"] == ["reasoning_content", "think_tags"]
    assert listed["retry.retry_status_codes"]["type"] == "list[integer]"
    assert listed["log.level"]["source"] == "environment"
    assert listed["server.port"]["restart_required"]
    assert listed["security.encryption_key"]["editable"] is False


async def test_never_sends_a_secret_back(
    http: httpx.AsyncClient, store: protocols.Store
) -> None:
    answer = await http.put("/api/settings", json={"values": {"app.api_key": "sk-very-secret"}})
    assert answer.status_code == 200, answer.text
    listed = (await http.get("/api/settings")).text + (await http.get("/api/settings/diff")).text
    assert "sk-very-secret" not in listed
    listed_rows = rows((await http.get("/api/settings")).json())
    row = listed_rows["app.api_key"]
    assert row["value"] == "****" and row["source"] == "override" and row["secret"] is True
    assert listed_rows["app.app_key"]["value"] == listed_rows["app.app_key"]["default"] == "****"
    stored = (await store.settings_overrides.get_all())["app.api_key"].value
    assert "sk-very-secret" not in json.dumps(stored)


async def test_stores_and_applies_a_change_coerced_by_the_model(
    http: httpx.AsyncClient, live: LiveSettings, store: protocols.Store
) -> None:
    answer = await http.put(
        "/api/settings", json={"values": {"chat.stream": "true", "retry.max_retry": 5}}
    )
    assert answer.json() == {"changed": ["chat.stream", "retry.max_retry"], "restart_required": {}}
    assert live.current.chat.stream is True and live.current.retry.max_retry == 5
    stored = await store.settings_overrides.get_all()
    assert stored["chat.stream"].value is True and stored["chat.stream"].updated_by == "anonymous"
    row = rows((await http.get("/api/settings")).json())["chat.stream"]
    assert row["value"] is True and row["differs"] is True and row["source"] == "override"
    entries = (await http.app.state.audit_log.list()).items  # type: ignore[attr-defined]
    assert entries[0].action == "settings.change"


async def test_refuses_every_invalid_key_and_stores_nothing(
    http: httpx.AsyncClient, live: LiveSettings, store: protocols.Store
) -> None:
    answer = await http.put(
        "/api/settings",
        json={"values": {"chat.stream": False, "retry.max_retry": -1, "chat.nope": 1,
                         "log.level": "LOUD"}},
    )
    assert answer.status_code == 400
    invalid = answer.json()["detail"]["invalid"]
    assert set(invalid) == {"chat.nope"}  # unknown keys are refused before values are read
    answer = await http.put(
        "/api/settings", json={"values": {"retry.max_retry": -1, "log.level": "LOUD"}}
    )
    invalid = answer.json()["detail"]["invalid"]
    assert set(invalid) == {"retry.max_retry", "log.level"}
    assert "greater than or equal to 0" in invalid["retry.max_retry"]
    assert await store.settings_overrides.get_all() == {}
    assert live.overrides == {}


async def test_refuses_settings_the_override_store_depends_on(http: httpx.AsyncClient) -> None:
    answer = await http.put(
        "/api/settings", json={"values": {"security.encryption_key": "x" * 44}}
    )
    assert answer.status_code == 400
    assert "cannot be changed at runtime" in answer.json()["detail"]["invalid"][
        "security.encryption_key"]


async def test_reports_a_change_that_needs_a_restart(http: httpx.AsyncClient) -> None:
    answer = (await http.put("/api/settings", json={"values": {"cache.limit_mb": 10}})).json()
    assert "media store" in answer["restart_required"]["cache.limit_mb"]


async def test_resets_a_setting_and_diffs_against_the_defaults(
    http: httpx.AsyncClient, live: LiveSettings
) -> None:
    await http.put("/api/settings", json={"values": {"chat.stream": True, "retry.max_retry": 1}})
    changed = (await http.get("/api/settings/diff")).json()["changed"]
    assert {row["key"]: (row["default"], row["value"]) for row in changed} == {
        "chat.stream": (False, True), "retry.max_retry": (3, 1),
    }
    answer = (await http.delete("/api/settings/chat.stream")).json()
    assert answer["removed"] is True
    assert live.current.chat.stream is False and live.current.retry.max_retry == 1
    assert (await http.delete("/api/settings/chat.stream")).json()["removed"] is False
    assert (await http.delete("/api/settings/chat.nope")).status_code == 404


async def test_a_change_reaches_another_replica_through_the_bus(
    store: protocols.Store, cipher: crypto.CredentialCipher, redis_prefix: str
) -> None:
    channel = f"{redis_prefix}settings"
    publisher, subscriber = aioredis.Redis.from_url(REDIS_URL), aioredis.Redis.from_url(REDIS_URL)
    replica = LiveSettings(Settings())
    listener = asyncio.create_task(RedisBus(subscriber, channel=channel).run(replica))
    try:
        await asyncio.sleep(0.2)  # subscribed before the change is published
        app = build(live=LiveSettings(Settings()), store=store, cipher=cipher,
                    bus=RedisBus(publisher, channel=channel))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://admin.test"
        ) as http:
            await http.put("/api/settings", json={"values": {"chat.thinking": False,
                                                             "app.api_key": "sk-replica"}})
        for _ in range(50):
            if replica.current.chat.thinking is False:
                break
            await asyncio.sleep(0.05)
        assert replica.current.chat.thinking is False
        assert replica.current.app.api_key == "sk-replica"
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await publisher.aclose()
        await subscriber.aclose()


async def test_answers_503_when_a_stored_secret_cannot_be_read_here(
    store: protocols.Store, cipher: crypto.CredentialCipher
) -> None:
    other_key = crypto.CredentialCipher(key=crypto.generate_key(), source="another key")
    app = build(live=LiveSettings(Settings()), store=store, cipher=other_key)
    await store.settings_overrides.set_many(
        {"app.api_key": {"encrypted": cipher.encrypt('"sk-x"')}}, updated_by="t"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://admin.test"
    ) as http:
        answer = await http.put("/api/settings", json={"values": {"chat.stream": True}})
        assert (await http.get("/api/settings")).status_code == 200
    assert answer.status_code == 503 and "security.encryption_key" in answer.json()["detail"]
    assert "chat.stream" not in await store.settings_overrides.get_all()
