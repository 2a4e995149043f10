"""Batch jobs over the real pool and the simulator: progress events in order ending with a
summary, upstream effects, cancel (also from another replica), resume after an event id."""

from __future__ import annotations

import asyncio
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
    running_pool,
    settings_for,
)
from fastapi import FastAPI
from grok2api_poolclient import accounts
from grok2api_poolclient.client import PoolClient
from grok2api_storage import protocols

CRED = "admin-batch-credential-" + "b" * 24


@pytest.fixture
async def http(
    kind: str, tmp_path: Path, pool: PoolClient, sim,  # type: ignore[no-untyped-def]
    redis_client: aioredis.Redis, redis_prefix: str,
) -> AsyncIterator[httpx2.AsyncClient]:  # fmt: skip
    app = admin_app_for(
        kind, settings=settings_for(tmp_path, sim.base_url), pool=pool, redis=redis_client,
        prefix=redis_prefix,
    )  # fmt: skip
    async with http_for(app) as client:
        yield client


async def _accounts(http: httpx2.AsyncClient, sim, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for n in range(count):
        sim.add_account(f"{CRED}{n}", tier="super")
        added = await http.post("/api/accounts", json={"credential": f"{CRED}{n}"})
        ids.append(added.json()["id"])
    return ids


async def _events(http: httpx2.AsyncClient, batch_id: str, **headers: str) -> list:  # type: ignore[type-arg]
    return parse_sse((await http.get(f"/api/batches/{batch_id}/events", headers=headers)).text)


async def test_a_usage_refresh_streams_progress_in_order_then_a_summary(
    http: httpx2.AsyncClient, sim  # type: ignore[no-untyped-def]
) -> None:
    ids = await _accounts(http, sim, 3)
    started = await http.post("/api/batches", json={"action": "refresh_usage", "all": True})
    assert started.status_code == 202, started.text
    events = await _events(http, started.json()["id"])
    assert [name for _, name, _ in events] == ["progress"] * 3 + ["summary"]
    assert [data["done"] for _, _, data in events] == [1, 2, 3, 3]
    assert all(data["total"] == 3 for _, _, data in events)
    assert sorted(data["account_id"] for _, _, data in events[:-1]) == sorted(ids)
    summary = events[-1][2]
    assert (summary["status"], summary["succeeded"], summary["failed"]) == ("finished", 3, 0)
    listed = (await http.get("/api/accounts")).json()["items"]
    assert {item["tier"] for item in listed} == {"super"}  # inferred by the refresh
    state = (await http.get(f"/api/batches/{started.json()['id']}")).json()
    assert state["status"] == "finished" and state["summary"] == summary


@pytest.mark.parametrize(
    ("action", "field"),
    [("accept_tos", "tosVersion"), ("set_birth_date", "birthDate"), ("enable_nsfw", "nsfw")],
)
async def test_account_settings_batches_reach_the_upstream_for_the_chosen_accounts(
    http: httpx2.AsyncClient, sim, action: str, field: str  # type: ignore[no-untyped-def]
) -> None:
    ids = await _accounts(http, sim, 3)
    started = await http.post("/api/batches", json={"action": action, "account_ids": ids[:2]})
    events = await _events(http, started.json()["id"])
    assert [data["done"] for _, _, data in events] == [1, 2, 2]
    assert events[-1][2]["status"] == "finished" and events[-1][2]["succeeded"] == 2
    assert sum(1 for a in sim.accounts() if a[field]) == 2


async def test_clear_assets_reports_what_it_found_and_deleted(
    http: httpx2.AsyncClient, sim, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    [account_id] = await _accounts(http, sim, 1)
    async with grok_for(settings_for(tmp_path, sim.base_url)) as grok:
        for n in range(4):
            await grok.upload_file(
                credential=f"{CRED}0", file_name=f"{n}.txt", mime_type="text/plain", content=b"x"
            )
    started = await http.post(
        "/api/batches", json={"action": "clear_assets", "account_ids": [account_id]}
    )
    events = await _events(http, started.json()["id"])
    progress, summary = events[0][2], events[-1][2]
    assert (progress["assets_found"], progress["assets_deleted"]) == (4, 4)
    assert (summary["assets_found"], summary["assets_deleted"], summary["status"]) == (
        4, 4, "finished",
    )  # fmt: skip
    assets = (await http.get(f"/api/accounts/{account_id}/assets")).json()
    assert assets["items"] == []


async def test_events_resume_after_the_last_event_id(
    http: httpx2.AsyncClient, sim  # type: ignore[no-untyped-def]
) -> None:
    await _accounts(http, sim, 3)
    started = await http.post("/api/batches", json={"action": "refresh_usage", "all": True})
    events = await _events(http, started.json()["id"])
    resumed = await _events(http, started.json()["id"], **{"Last-Event-ID": events[1][0]})
    assert resumed == events[2:]


async def test_a_batch_needs_accounts_and_unknown_batches_are_not_found(
    http: httpx2.AsyncClient,
) -> None:
    refused = await http.post("/api/batches", json={"action": "accept_tos"})
    assert refused.status_code == 400
    bad = await http.post("/api/batches", json={"action": "format_disk", "all": True})
    assert bad.status_code == 400
    for method, path in (("GET", "/api/batches/nope"), ("GET", "/api/batches/nope/events"),
                         ("DELETE", "/api/batches/nope")):  # fmt: skip
        assert (await http.request(method, path)).status_code == 404


class BlockingUpstream:
    """ToS calls block until cancelled; counts what started, runs and was cancelled."""

    def __init__(self) -> None:
        self.started = 0
        self.running = 0
        self.cancelled = 0

    async def accept_tos(self, credential: str) -> None:
        self.started += 1
        self.running += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1

    async def set_birth_date(self, credential: str) -> bool:
        raise NotImplementedError

    async def enable_nsfw(self, credential: str) -> None:
        raise NotImplementedError

    async def list_assets(
        self, credential: str, *, page_size: int, page_token: str
    ) -> accounts.AssetPage:
        raise NotImplementedError

    async def delete_asset(self, credential: str, asset_id: str) -> None:
        raise NotImplementedError


async def _until(check, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within} s")


# A cancel sent to another admin replica needs replicas that share Redis: not in_process.
@pytest.mark.parametrize(
    ("kind", "replicas"),
    [("in_process", "same"), ("grpc_redis", "same"), ("grpc_redis", "another")],
)
async def test_cancel_stops_the_upstream_calls_and_ends_with_a_cancelled_summary(
    kind: str, replicas: str, tmp_path: Path, store: protocols.Store, sim,  # type: ignore[no-untyped-def]
    redis_client: aioredis.Redis, redis_prefix: str,
) -> None:  # fmt: skip
    settings = settings_for(tmp_path, sim.base_url, nsfw_max_concurrent=2, nsfw_batch_size=5)
    upstream = BlockingUpstream()
    async with running_pool(
        kind, settings=lambda: settings, store=store, upstream=upstream, reader=None,
        redis=redis_client, prefix=redis_prefix,
    ) as pool:  # fmt: skip
        ids = [(await pool.upsert_account(credential=f"{CRED}{n}")).account_id for n in range(8)]
        apps: list[FastAPI] = [
            admin_app_for(kind, settings=settings, pool=pool, redis=redis_client,
                          prefix=redis_prefix)
            for _ in range(2)
        ]  # fmt: skip
        serving = apps[1] if replicas == "another" else apps[0]
        running, other = http_for(apps[0]), http_for(serving)
        async with running, other:
            started = await running.post(
                "/api/batches", json={"action": "accept_tos", "account_ids": ids}
            )
            batch_id = started.json()["id"]
            await _until(lambda: upstream.running == 2)
            await asyncio.sleep(0.1)
            assert upstream.started == 2  # performance.nsfw_max_concurrent
            assert (await other.delete(f"/api/batches/{batch_id}")).status_code == 202
            events = await _events(other, batch_id)
            await _until(lambda: upstream.running == 0)
            assert events[-1][1] == "summary" and events[-1][2]["status"] == "cancelled"
            assert (upstream.started, upstream.cancelled) == (2, 2)
            state = (await other.get(f"/api/batches/{batch_id}")).json()
            assert state["status"] == "cancelled"
        for app in apps:
            await app.state.batches.aclose()


async def test_a_quiet_stream_sends_keepalive_comments_and_closes_its_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from admin.routers import batches as batches_router

    monkeypatch.setattr(batches_router, "KEEPALIVE_SECONDS", 0.05)
    closed = asyncio.Event()

    async def slow() -> AsyncIterator[tuple[str, dict[str, object]]]:
        try:
            await asyncio.sleep(0.2)
            yield "1", {"type": "summary"}
        finally:
            closed.set()

    lines = [line async for line in batches_router.event_stream(slow())]
    assert lines[0].startswith("retry:") and ": keepalive\n\n" in lines
    assert lines[-1].startswith("id: 1\nevent: summary\n")
    assert closed.is_set()
