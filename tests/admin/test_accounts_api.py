"""The accounts API over the real pool (in-process, and over gRPC with Redis hot state):
masked credentials, edits audited, managed accounts read-only, imports as batches, assets,
and 10,000 accounts paged and sorted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import redis.asyncio as aioredis
from accounts_support import (
    admin_app_for,
    grok_for,
    http_for,
    parse_sse,
    settings_for,
)
from fastapi import FastAPI
from grok2api_poolclient.client import PoolClient
from grok2api_storage import protocols
from grok2api_storage import records as stored

CRED = "admin-accounts-credential-" + "c" * 24


@pytest.fixture
def app(
    kind: str, tmp_path: Path, pool: PoolClient, sim,  # type: ignore[no-untyped-def]
    redis_client: aioredis.Redis, redis_prefix: str,
) -> FastAPI:  # fmt: skip
    return admin_app_for(
        kind, settings=settings_for(tmp_path, sim.base_url), pool=pool, redis=redis_client,
        prefix=redis_prefix,
    )  # fmt: skip


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    async with http_for(app) as client:
        yield client


async def _audited(app: FastAPI) -> list[tuple[str, str]]:
    page = await app.state.audit_log.list(limit=100)
    return [(e.action, e.target) for e in reversed(page.items)]


async def test_an_added_account_is_listed_with_its_credential_masked(
    http: httpx2.AsyncClient, app: FastAPI
) -> None:
    added = await http.post(
        "/api/accounts", json={"credential": CRED, "tier": "super", "tags": ["a"], "note": "n"}
    )
    assert added.status_code == 201, added.text
    item = added.json()
    listed = await http.get("/api/accounts")
    assert CRED not in added.text and CRED not in listed.text
    assert item["credential"] != CRED and item["credential"][:2] == CRED[:2]
    body = listed.json()
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    [row] = body["items"]
    assert (row["id"], row["tier"], row["status"], row["tags"], row["note"]) == (
        item["id"], "super", "active", ["a"], "n",
    )
    assert row["managed"] is False and row["managed_by"] is None
    assert {"quota", "inflight", "failures", "last_used_at"} <= row.keys()
    assert await _audited(app) == [("account.add", item["id"])]


async def test_an_account_is_edited_and_deleted_with_each_change_audited(
    http: httpx2.AsyncClient, app: FastAPI
) -> None:
    account_id = (await http.post("/api/accounts", json={"credential": CRED})).json()["id"]
    changed = await http.patch(
        f"/api/accounts/{account_id}",
        json={"tier": "heavy", "tags": ["x", "y"], "note": "edited", "enabled": False},
    )
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("tier", "tags", "note", "enabled", "status")} == {
        "tier": "heavy", "tags": ["x", "y"], "note": "edited", "enabled": False,
        "status": "disabled",
    }  # fmt: skip
    assert (await http.delete(f"/api/accounts/{account_id}")).status_code == 204
    assert (await http.get("/api/accounts")).json()["total"] == 0
    assert (await http.delete(f"/api/accounts/{account_id}")).status_code == 404
    assert await _audited(app) == [
        ("account.add", account_id), ("account.update", account_id),
        ("account.delete", account_id),
    ]  # fmt: skip


async def test_accounts_a_grok_token_manages_are_read_only_here(
    http: httpx2.AsyncClient, pool: PoolClient
) -> None:
    managed = await pool.upsert_account(credential=CRED, tags=["team", "k8s:prod/token-a"])
    listed = (await http.get("/api/accounts")).json()["items"][0]
    assert (listed["managed"], listed["managed_by"], listed["tags"]) == (
        True, "prod/token-a", ["team"],
    )  # fmt: skip
    edit = await http.patch(f"/api/accounts/{managed.account_id}", json={"note": "x"})
    delete = await http.delete(f"/api/accounts/{managed.account_id}")
    readd = await http.post("/api/accounts", json={"credential": CRED, "note": "mine now"})
    for refused in (edit, delete, readd):
        assert refused.status_code == 409, refused.text
        message = refused.json()["error"]["message"]
        assert "GrokToken prod/token-a" in message and "kubectl -n prod edit" in message
    assert (await pool.get_account(managed.account_id)).note == ""
    forged = await http.post("/api/accounts", json={"credential": CRED + "2", "tags": ["k8s:x/y"]})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "reserved_tag"


async def test_an_import_skips_accounts_a_grok_token_declares(
    http: httpx2.AsyncClient, pool: PoolClient
) -> None:
    managed = await pool.upsert_account(credential=CRED, tags=["team", "k8s:prod/token-a"])
    text = f"{CRED}\n{CRED}2\n"
    started = await http.post("/api/accounts/import", json={"text": text, "tags": ["batch"]})
    events = parse_sse((await http.get(f"/api/batches/{started.json()['id']}/events")).text)
    skipped, imported, summary = (data for _, _, data in events)
    assert (skipped["ok"], skipped["account_id"]) == (False, managed.account_id)
    assert "GrokToken prod/token-a" in skipped["error"] and "kubectl -n prod" in skipped["error"]
    assert imported["ok"] is True
    assert (summary["succeeded"], summary["failed"]) == (1, 1)
    kept = await pool.get_account(managed.account_id)
    assert kept.tags == ("team", "k8s:prod/token-a")  # the import did not take it over


async def test_pasted_lines_import_as_a_batch_whose_events_end_with_a_summary(
    http: httpx2.AsyncClient,
) -> None:
    text = f"# comment\n{CRED}1\nsso={CRED}2\n\n{CRED}3\n"
    started = await http.post("/api/accounts/import", json={"text": text, "tags": ["batch"]})
    assert started.status_code == 202, started.text
    batch_id = started.json()["id"]
    events = parse_sse((await http.get(f"/api/batches/{batch_id}/events")).text)
    assert [name for _, name, _ in events] == ["progress"] * 3 + ["summary"]
    assert [data["done"] for _, _, data in events] == [1, 2, 3, 3]
    summary = events[-1][2]
    assert (summary["status"], summary["succeeded"], summary["failed"]) == ("finished", 3, 0)
    listed = (await http.get("/api/accounts", params={"tag": "batch"})).json()
    assert listed["total"] == 3
    state = (await http.get(f"/api/batches/{batch_id}")).json()
    assert (state["status"], state["action"], state["done"], state["total"]) == (
        "finished", "import", 3, 3,
    )  # fmt: skip


async def test_an_uploaded_pool_file_imports_with_its_tiers(http: httpx2.AsyncClient) -> None:
    pool_file = json.dumps(
        {"ssoSuper": [{"token": f"{CRED}1", "note": "from file"}], "ssoBasic": [f"{CRED}2"]}
    )
    started = await http.post(
        "/api/accounts/import",
        files={"file": ("token.json", pool_file.encode(), "application/json")},
        data={"tags": "up, loaded"},
    )
    assert started.status_code == 202, started.text
    await http.get(f"/api/batches/{started.json()['id']}/events")
    items = (await http.get("/api/accounts", params={"tag": "loaded"})).json()["items"]
    assert sorted((i["tier"], i["note"], i["tags"][-1]) for i in items) == [
        ("basic", "", "loaded"), ("super", "from file", "loaded"),
    ]  # fmt: skip


async def test_an_unreadable_import_is_refused_before_any_batch(http: httpx2.AsyncClient) -> None:
    answer = await http.post("/api/accounts/import", json={"text": "{not json"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_import_format"


async def test_an_accounts_assets_are_listed_by_page(
    http: httpx2.AsyncClient, sim, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    sim.add_account(CRED)
    account_id = (await http.post("/api/accounts", json={"credential": CRED})).json()["id"]
    async with grok_for(settings_for(tmp_path, sim.base_url)) as grok:
        for n in range(3):
            await grok.upload_file(
                credential=CRED, file_name=f"f{n}.txt", mime_type="text/plain", content=b"x"
            )
    first = (await http.get(f"/api/accounts/{account_id}/assets", params={"page_size": 2})).json()
    assert len(first["items"]) == 2 and first["next_page_token"]
    rest = (await http.get(
        f"/api/accounts/{account_id}/assets", params={"page_token": first["next_page_token"]}
    )).json()  # fmt: skip
    assert len(rest["items"]) == 1 and rest["next_page_token"] == ""
    assert (await http.get("/api/accounts/nope/assets")).status_code == 404


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["grpc_redis"])
async def test_ten_thousand_accounts_page_completely_in_every_order(
    http: httpx2.AsyncClient, store: protocols.Store, pool: PoolClient
) -> None:
    await store.accounts.bulk_upsert(
        stored.NewAccount(credential=f"bulk-{n:05d}-" + "b" * 24, note=f"row {n}")
        for n in range(10_000)
    )
    for sort, order in (("id", "asc"), ("created", "desc"), ("remaining", "desc")):
        ids: list[str] = []
        page = 1
        while True:
            body = (await http.get("/api/accounts", params={
                "page": page, "page_size": 500, "sort": sort, "order": order,
            })).json()  # fmt: skip
            assert body["total"] == 10_000 and body["pages"] == 20
            ids.extend(item["id"] for item in body["items"])
            if page == body["pages"]:
                break
            page += 1
        assert len(ids) == len(set(ids)) == 10_000
    found = (await http.get("/api/accounts", params={"q": "row 9999"})).json()
    assert found["total"] == 1 and found["items"][0]["note"] == "row 9999"

