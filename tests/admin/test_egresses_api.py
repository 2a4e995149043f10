"""The egresses API over the real pool (in-process, and over gRPC with Redis hot state), a
real tinyproxy exiting from its own loopback address, the simulator's Cloudflare front and
its FlareSolverr-compatible solver: add, list, edit, paste a clearance, test (a batch over
SSE), refresh through the solver, remove; clear 400/404/409 errors; proxy credentials and
clearance cookies in no answer, audit entry or log line."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis.asyncio as aioredis
from accounts_support import (
    APP_KEY,
    admin_app_for,
    grok_for,
    http_for,
    parse_sse,
    running_pool,
)
from fastapi import FastAPI
from grok2api_settings import Settings
from grok2api_storage import protocols
from grok_sim.solver import SOLVER_USER_AGENT
from grok_sim.testing import SimHandle, SolverHandle, running_solver
from token_pool import actions, usage

sys.path.insert(0, str(Path(__file__).parents[1] / "egress"))
from egress_proxies import Credentials, RunningProxy, free_port, running_tinyproxy

PROXY_CREDENTIALS = Credentials(username="egress-user", password="pr0xy-s3cret-value")
EXIT_ADDRESS = "127.0.0.31"
PASTED = "pasted-cf-clearance-never-shown-0123456789"


@pytest.fixture(scope="module")
def solver_server() -> Iterator[SolverHandle]:
    with running_solver() as handle:
        yield handle


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[RunningProxy]:
    with running_tinyproxy(
        exit_address=EXIT_ADDRESS, workdir=tmp_path / "tinyproxy", credentials=PROXY_CREDENTIALS
    ) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, sim: SimHandle, solver_server: SolverHandle) -> Settings:
    return Settings.model_validate({
        "data_dir": str(tmp_path),
        "app": {"app_key": APP_KEY},
        "token": {"auto_refresh": False},
        "network": {"base_url": sim.base_url, "accounts_url": sim.base_url,
                    "assets_url": sim.base_url},
        "egress": {"solver_url": solver_server.base_url, "clearance_refresh_seconds": 3600},
    })  # fmt: skip


@contextlib.asynccontextmanager
async def serving(
    kind: str, settings: Settings, store: protocols.Store, redis: aioredis.Redis, prefix: str
) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:
    """An admin app over a real pool holding ``store``'s egresses, and its bearer client."""
    async with grok_for(settings) as grok, running_pool(
        kind, settings=lambda: settings, store=store, egresses=store.egresses,
        upstream=actions.GrokAccountUpstream(grok), reader=usage.GrokUsageReader(grok),
        redis=redis, prefix=prefix,
    ) as pool:  # fmt: skip
        app = admin_app_for(kind, settings=settings, pool=pool, redis=redis, prefix=prefix)
        async with http_for(app) as http:
            yield app, http


@pytest.fixture
async def served(
    kind: str, settings: Settings, store: protocols.Store, redis_client: aioredis.Redis,
    redis_prefix: str,
) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:  # fmt: skip
    async with serving(kind, settings, store, redis_client, redis_prefix) as both:
        yield both


@pytest.fixture
def app(served: tuple[FastAPI, httpx2.AsyncClient]) -> FastAPI:
    return served[0]


@pytest.fixture
def http(served: tuple[FastAPI, httpx2.AsyncClient]) -> httpx2.AsyncClient:
    return served[1]


def secrets_of(proxy: RunningProxy) -> list[str]:
    return [PROXY_CREDENTIALS.password, proxy.url(), PASTED]


async def audit_entries(app: FastAPI) -> list[dict[str, Any]]:
    page = await app.state.audit_log.list(limit=100)
    return [
        {"action": e.action, "target": e.target, "detail": e.detail} for e in reversed(page.items)
    ]


async def add(http: httpx2.AsyncClient, proxy: RunningProxy, **fields: Any) -> dict[str, Any]:
    body = {"name": "eu-1", "proxy_url": proxy.url(), "tags": ["eu"], **fields}
    answer = await http.post("/api/egresses", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def run_test(http: httpx2.AsyncClient, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Start a test batch at ``path`` and follow its events to the summary."""
    started = await http.post(path)
    assert started.status_code == 202, started.text
    assert started.json()["action"] == "test_egresses"
    events = await http.get(f"/api/batches/{started.json()['id']}/events", timeout=60)
    return [(name, data) for _, name, data in parse_sse(events.text)]


async def test_an_added_egress_is_listed_without_its_credentials_or_cookies(
    http: httpx2.AsyncClient, app: FastAPI, proxy: RunningProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    added = await add(
        http, proxy, max_inflight=4, user_agent=SOLVER_USER_AGENT, clearance_cookies=PASTED
    )
    listed = await http.get("/api/egresses")
    assert listed.status_code == 200, listed.text
    [row] = [e for e in listed.json()["items"] if not e["from_settings"]]
    assert row["id"] == added["id"]
    assert (row["name"], row["tags"], row["enabled"], row["max_inflight"]) == (
        "eu-1", ["eu"], True, 4,
    )  # fmt: skip
    assert row["proxy"] == f"http://127.0.0.1:{proxy.port}"
    assert row["clearance"]["source"] == "manual"
    assert row["clearance"]["user_agent"] == SOLVER_USER_AGENT
    assert {"state", "bound_accounts", "inflight", "challenge_rate", "latency_ms"} <= row.keys()
    assert listed.json()["solver"] is True
    audited = await audit_entries(app)
    assert [(e["action"], e["target"]) for e in audited] == [("egress.add", added["id"])]
    for secret in secrets_of(proxy):
        for text in (json.dumps(added), listed.text, json.dumps(audited), caplog.text):
            assert secret not in text


async def test_an_egress_is_tested_then_works_once_a_clearance_is_pasted(
    http: httpx2.AsyncClient, app: FastAPI, proxy: RunningProxy, sim: SimHandle,
    solver_server: SolverHandle,
) -> None:  # fmt: skip
    egress = await add(http, proxy, user_agent=SOLVER_USER_AGENT)
    events = await run_test(http, f"/api/egresses/{egress['id']}/test")
    [(_, first), (summary_name, summary)] = events
    assert (first["egress_id"], first["ok"], first["challenged"]) == (egress["id"], False, True)
    assert "clearance" in first["error"]
    assert (summary_name, summary["status"], summary["failed"]) == ("summary", "finished", 1)
    assert sim.clearance()["challenged"].get(EXIT_ADDRESS, 0) >= 1  # it went through the proxy

    solved = solver_server.solve(sim.base_url + "/", proxy=proxy.flaresolverr_proxy())
    cookie = next(c["value"] for c in solved["solution"]["cookies"] if c["name"] == "cf_clearance")
    pasted = await http.patch(
        f"/api/egresses/{egress['id']}", json={"clearance_cookies": f"cf_clearance={cookie}"}
    )
    assert pasted.status_code == 200, pasted.text
    assert cookie not in pasted.text and pasted.json()["clearance"]["source"] == "manual"

    [(_, second), (_, summary)] = await run_test(http, f"/api/egresses/{egress['id']}/test")
    assert (second["ok"], second["status"], second["challenged"]) == (True, 200, False)
    assert second["latency_ms"] > 0
    assert (summary["status"], summary["succeeded"], summary["failed"]) == ("finished", 1, 0)
    listed = (await http.get("/api/egresses")).json()["items"]
    assert next(e for e in listed if e["id"] == egress["id"])["latency_ms"] > 0
    audited = await audit_entries(app)
    assert [e["action"] for e in audited] == [
        "egress.add", "egress.test", "egress.update", "egress.test",
    ]  # fmt: skip
    assert audited[2]["detail"]["clearance"] == "pasted"
    assert cookie not in json.dumps(audited)


async def test_a_clearance_refreshed_through_the_solver_lets_the_test_pass(
    http: httpx2.AsyncClient, proxy: RunningProxy, sim: SimHandle,
) -> None:  # fmt: skip
    egress = await add(http, proxy)
    before = sim.clearances_issued(EXIT_ADDRESS)
    refreshed = await http.post(f"/api/egresses/{egress['id']}/refresh-clearance")
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["result"] in ("refreshed", "fresh")
    assert sim.clearances_issued(EXIT_ADDRESS) > before  # the solver went through the proxy
    [row] = [
        e for e in (await http.get("/api/egresses")).json()["items"] if e["id"] == egress["id"]
    ]
    assert row["clearance"]["source"] == "solver" and row["clearance"]["user_agent"]
    assert row["state"] == "healthy"

    [(_, tested), (_, summary)] = await run_test(http, "/api/egresses/test")
    assert (tested["egress_id"], tested["ok"]) == (egress["id"], True)
    assert summary["succeeded"] == 1


async def test_a_failed_refresh_answers_502_with_the_solver_s_reason(
    http: httpx2.AsyncClient, app: FastAPI, proxy: RunningProxy, solver_server: SolverHandle
) -> None:
    egress = await add(http, proxy, enabled=False)  # so no scheduled refresh takes the failure
    solver_server.fail_next(message="Error solving the challenge. Timeout after 20.0 seconds.")
    failed = await http.post(f"/api/egresses/{egress['id']}/refresh-clearance")
    assert failed.status_code == 502, failed.text
    assert failed.json()["error"]["code"] == "clearance_refresh_failed"
    assert failed.json()["error"]["message"]
    assert PROXY_CREDENTIALS.password not in failed.text
    audited = await audit_entries(app)
    assert audited[-1]["action"] == "egress.refresh_clearance"
    assert audited[-1]["detail"] == {"result": "failed"}


async def test_testing_every_egress_reports_a_dead_proxy_without_naming_it(
    http: httpx2.AsyncClient, proxy: RunningProxy, sim: SimHandle,
) -> None:  # fmt: skip
    dead_port = free_port()  # nothing listens there
    dead_url = f"http://dead-user:dead-pass@127.0.0.1:{dead_port}"
    live = await add(http, proxy)
    dead = await add(http, proxy, name="dead-1", proxy_url=dead_url)
    await http.post(f"/api/egresses/{live['id']}/refresh-clearance")

    events = await run_test(http, "/api/egresses/test")
    results = {data["egress_id"]: data for name, data in events if name == "progress"}
    summary = events[-1][1]
    assert results[live["id"]]["ok"] is True
    assert results[dead["id"]]["ok"] is False and results[dead["id"]]["status"] == 0
    assert results[dead["id"]]["error"]
    assert set(results) == {live["id"], dead["id"]}  # stored egresses replace the settings'
    assert (summary["status"], summary["done"], summary["succeeded"], summary["failed"]) == (
        "finished", 2, 1, 1,
    )  # fmt: skip
    text = json.dumps(events)
    assert "dead-pass" not in text and f"127.0.0.1:{dead_port}" not in text


async def test_an_egress_is_edited_disabled_and_removed_with_each_change_audited(
    http: httpx2.AsyncClient, app: FastAPI, proxy: RunningProxy
) -> None:
    egress = await add(http, proxy, clearance_cookies=PASTED)
    changed = await http.patch(
        f"/api/egresses/{egress['id']}",
        json={"name": "eu-2", "tags": ["eu", "fast"], "max_inflight": 2, "enabled": False},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["tags"], body["max_inflight"], body["enabled"], body["state"]) == (
        "eu-2", ["eu", "fast"], 2, False, "disabled",
    )  # fmt: skip
    forgot = await http.patch(f"/api/egresses/{egress['id']}", json={"clearance_cookies": ""})
    assert forgot.json()["clearance"] is None
    direct = await http.patch(f"/api/egresses/{egress['id']}", json={"proxy_url": ""})
    assert direct.json()["proxy"] == "direct"

    assert (await http.delete(f"/api/egresses/{egress['id']}")).status_code == 204
    listed = (await http.get("/api/egresses")).json()["items"]
    assert egress["id"] not in [e["id"] for e in listed]
    audited = await audit_entries(app)
    assert [(e["action"], e["target"]) for e in audited] == [
        ("egress.add", egress["id"]), ("egress.update", egress["id"]),
        ("egress.update", egress["id"]), ("egress.update", egress["id"]),
        ("egress.remove", egress["id"]),
    ]  # fmt: skip
    assert audited[1]["detail"]["fields"] == ["enabled", "max_inflight", "name", "tags"]
    assert audited[2]["detail"]["clearance"] == "forgotten"
    for secret in secrets_of(proxy):
        assert secret not in json.dumps(audited)


async def test_mistakes_get_clear_400_404_and_409_answers(
    http: httpx2.AsyncClient, proxy: RunningProxy
) -> None:
    egress = await add(http, proxy)
    secret_url = "ftp://someone:wr0ng-scheme-secret@127.0.0.1:21"
    cases = [
        ("POST", "/api/egresses", {"name": "x", "proxy_url": secret_url}, 400, "invalid_value"),
        ("POST", "/api/egresses", {"name": "x", "proxy": "http://h:1"}, 400, "invalid_value"),
        ("POST", "/api/egresses", {"name": " "}, 400, "invalid_value"),
        ("POST", "/api/egresses", {"name": "x", "max_inflight": -1}, 400, "invalid_value"),
        ("POST", "/api/egresses", {"name": "eu-1"}, 409, "egress_name_taken"),
        ("PATCH", "/api/egresses/nope", {"enabled": False}, 404, "egress_not_found"),
        ("PATCH", f"/api/egresses/{egress['id']}", {"enabled": None}, 400, "invalid_value"),
        ("DELETE", "/api/egresses/nope", None, 404, "egress_not_found"),
        ("POST", "/api/egresses/nope/test", None, 404, "egress_not_found"),
        ("POST", "/api/egresses/nope/refresh-clearance", None, 404, "egress_not_found"),
    ]
    for method, path, body, status, code in cases:
        answer = await http.request(method, path, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (
            method, path, body, answer.text,
        )  # fmt: skip
        assert "wr0ng-scheme-secret" not in answer.text
    second = await add(http, proxy, name="eu-2")
    taken = await http.patch(f"/api/egresses/{second['id']}", json={"name": "eu-1"})
    assert (taken.status_code, taken.json()["error"]["type"]) == (409, "conflict_error")


async def test_a_refresh_without_a_solver_says_to_paste_a_clearance(
    kind: str, settings: Settings, store: protocols.Store, proxy: RunningProxy,
    redis_client: aioredis.Redis, redis_prefix: str,
) -> None:  # fmt: skip
    unsolved = settings.model_copy(
        update={"egress": settings.egress.model_copy(update={"solver_url": ""})}
    )
    async with serving(kind, unsolved, store, redis_client, redis_prefix) as (_, http):
        egress = await add(http, proxy)
        assert (await http.get("/api/egresses")).json()["solver"] is False
        refused = await http.post(f"/api/egresses/{egress['id']}/refresh-clearance")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "no_solver")
    assert "paste" in refused.json()["error"]["message"]


async def test_the_egress_built_from_the_settings_is_read_only_here(
    kind: str, settings: Settings, store: protocols.Store, proxy: RunningProxy,
    redis_client: aioredis.Redis, redis_prefix: str,
) -> None:  # fmt: skip
    seeded = settings.model_copy(
        update={"network": settings.network.model_copy(update={"base_proxy_url": proxy.url()})}
    )
    async with serving(kind, seeded, store, redis_client, redis_prefix) as (_, http):
        listed = await http.get("/api/egresses")
        [default] = listed.json()["items"]
        edit = await http.patch(f"/api/egresses/{default['id']}", json={"enabled": False})
        remove = await http.delete(f"/api/egresses/{default['id']}")
    assert default["from_settings"] is True
    assert default["proxy"] == f"http://127.0.0.1:{proxy.port}"
    assert PROXY_CREDENTIALS.password not in listed.text
    for refused in (edit, remove):
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            409, "egress_from_settings",
        )  # fmt: skip


async def test_every_egress_route_needs_the_admin(app: FastAPI) -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://admin.test"
    ) as anonymous:
        for method, path in [
            ("GET", "/api/egresses"), ("POST", "/api/egresses"), ("PATCH", "/api/egresses/x"),
            ("DELETE", "/api/egresses/x"), ("POST", "/api/egresses/test"),
            ("POST", "/api/egresses/x/test"), ("POST", "/api/egresses/x/refresh-clearance"),
        ]:  # fmt: skip
            answer = await anonymous.request(method, path, json={"name": "x"})
            assert answer.status_code == 401, (method, path)
