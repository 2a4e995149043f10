"""The client-keys API: every limit carried, a secret answered once, limits changed and
cleared, states (active, disabled, expired, revoked), today's and this month's use, bad
input refused with the field named, every change audited without the secret."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from grok2api_storage import protocols, records

EVERY_LIMIT = {
    "allowed_models": ["grok-4", "grok-3"], "rate_limit_per_minute": 60, "max_concurrent": 4,
    "quota_unit": "cost", "daily_quota": 1000, "monthly_quota": 20000,
    "account_tags": ["vip"], "expires_at": "2099-01-01T00:00:00Z",
}  # fmt: skip


async def test_a_created_key_carries_every_limit_and_its_secret_is_answered_once(
    keys_api: httpx2.AsyncClient, store: protocols.Store
) -> None:
    created = await keys_api.post("/api/keys", json={"name": "ci", **EVERY_LIMIT})

    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("g2a-")
    found = await store.client_keys.find(secret)
    assert found is not None and found.limits.quota_unit is records.QuotaUnit.COST
    listed = (await keys_api.get("/api/keys")).json()["items"]
    assert len(listed) == 1
    item = listed[0]
    assert {name: item[name] for name in EVERY_LIMIT} == {
        **EVERY_LIMIT,
        "expires_at": "2099-01-01T00:00:00Z",
    }
    assert (item["name"], item["state"], item["enabled"]) == ("ci", "active", True)
    assert secret.startswith(item["prefix"])
    for path in ("/api/keys", f"/api/keys/{item['id']}", "/api/audit"):
        assert secret not in (await keys_api.get(path)).text


async def test_limits_are_changed_and_cleared_one_field_at_a_time(
    keys_api: httpx2.AsyncClient,
) -> None:
    key = (await keys_api.post("/api/keys", json={"name": "app", **EVERY_LIMIT})).json()["item"]

    changed = await keys_api.patch(f"/api/keys/{key['id']}", json={
        "allowed_models": None, "rate_limit_per_minute": None, "daily_quota": 5,
        "quota_unit": "requests", "account_tags": None, "expires_at": None,
    })  # fmt: skip

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["allowed_models"] is None and body["rate_limit_per_minute"] is None
    assert body["account_tags"] is None and body["expires_at"] is None
    assert (body["daily_quota"], body["quota_unit"]) == (5, "requests")
    assert (body["max_concurrent"], body["monthly_quota"]) == (4, 20000)  # not sent: kept


async def test_the_state_says_disabled_expired_and_revoked(
    keys_api: httpx2.AsyncClient, store: protocols.Store
) -> None:
    key = (await keys_api.post("/api/keys", json={"name": "s"})).json()
    path = f"/api/keys/{key['item']['id']}"

    disabled = (await keys_api.patch(path, json={"enabled": False})).json()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = (await keys_api.patch(path, json={"enabled": True, "expires_at": past})).json()
    revoked = await keys_api.delete(path)

    assert disabled["state"] == "disabled"
    assert expired["state"] == "expired"
    assert revoked.status_code == 200
    assert (revoked.json()["state"], revoked.json()["enabled"]) == ("revoked", False)
    assert revoked.json()["revoked_at"] is not None
    found = await store.client_keys.find(key["secret"])
    assert found is not None and found.refusal(datetime.now(UTC)) == "revoked"
    again = await keys_api.patch(path, json={"enabled": True})
    assert again.status_code == 400
    assert "revoked" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({}, "name"),
        ({"name": "x", "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"name": "x", "max_concurrent": -1}, "max_concurrent"),
        ({"name": "x", "daily_quota": "lots"}, "daily_quota"),
        ({"name": "x", "quota_unit": "tokens"}, "quota_unit"),
        ({"name": "x", "allowed_models": ["grok-4", " "]}, "allowed_models"),
        ({"name": "x", "allowed_models": []}, "allowed_models"),
        ({"name": "x", "expires_at": "someday"}, "expires_at"),
        ({"name": "x", "rpm": 5}, "rpm"),
        ({"name": "x" * 201}, "name"),
        ({"name": " "}, "name"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    keys_api: httpx2.AsyncClient, body: dict[str, object], names: str
) -> None:
    answer = await keys_api.post("/api/keys", json=body)

    assert answer.status_code == 400, answer.text
    assert names in answer.json()["error"]["message"]
    assert (await keys_api.get("/api/keys")).json()["items"] == []


async def test_a_required_field_cannot_be_cleared_and_unknown_keys_are_404(
    keys_api: httpx2.AsyncClient,
) -> None:
    key = (await keys_api.post("/api/keys", json={"name": "k"})).json()["item"]
    for field in ("name", "enabled", "quota_unit"):
        answer = await keys_api.patch(f"/api/keys/{key['id']}", json={field: None})
        assert answer.status_code == 400 and field in answer.json()["error"]["message"]
    assert (await keys_api.patch("/api/keys/nope", json={"name": "y"})).status_code == 404
    assert (await keys_api.delete("/api/keys/nope")).status_code == 404
    assert (await keys_api.get("/api/keys/nope")).status_code == 404


async def test_one_key_shows_today_and_this_month_against_its_quotas(
    keys_api: httpx2.AsyncClient, store: protocols.Store
) -> None:
    key = (await keys_api.post("/api/keys", json={
        "name": "metered", "quota_unit": "cost", "daily_quota": 50, "monthly_quota": 900,
    })).json()["item"]  # fmt: skip
    now = datetime.now(UTC)
    last_month = now.replace(day=1) - timedelta(days=1)

    def record(
        at: datetime, key_id: str | None = key["id"], status: int = 200
    ) -> records.UsageRecord:
        return records.UsageRecord(
            id=uuid.uuid4().hex, timestamp=at, key_id=key_id, model="grok-4",
            endpoint="/v1/chat/completions", status=status, prompt_tokens=3,
            completion_tokens=4, cost_units=5,
        )  # fmt: skip

    await store.usage.add_many([
        record(now), record(now, status=500),
        record(last_month), record(now, key_id=None),
    ])  # fmt: skip

    shown = (await keys_api.get(f"/api/keys/{key['id']}")).json()

    for period, quota in (("today", 50), ("month", 900)):
        totals = shown[period]
        assert (totals["requests"], totals["errors"], totals["cost_units"]) == (2, 1, 10)
        assert (totals["used"], totals["quota"]) == (10, quota)
    assert shown["today"]["since"].startswith(now.strftime("%Y-%m-%dT00:00:00"))


async def test_every_change_is_audited_never_the_secret(
    keys_api: httpx2.AsyncClient,
) -> None:
    created = (await keys_api.post("/api/keys", json={"name": "audited", "daily_quota": 3})).json()
    key = created["item"]
    await keys_api.patch(f"/api/keys/{key['id']}", json={"rate_limit_per_minute": 9})
    await keys_api.delete(f"/api/keys/{key['id']}")

    audit = await keys_api.get("/api/audit")
    entries = audit.json()["items"]

    assert [e["action"] for e in entries] == [
        "client_key.revoke",
        "client_key.update",
        "client_key.create",
    ]
    assert {e["target"] for e in entries} == {key["id"]}
    assert entries[2]["detail"]["daily_quota"] == 3
    assert entries[1]["detail"]["fields"] == ["rate_limit_per_minute"]
    assert entries[1]["detail"]["rate_limit_per_minute"] == 9
    assert created["secret"] not in audit.text
