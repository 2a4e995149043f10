"""The audit trail: what ``admin.audit.audit`` records and how ``GET /api/audit`` lists it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from admin import app as admin_app
from admin import security
from admin.audit import audit, scrub
from fastapi import Depends, Request
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import protocols

BEARER = {"Authorization": "Bearer grok2api"}


def build() -> Any:
    app = admin_app.create_app(settings=LiveSettings(Settings()), pool=None)  # type: ignore[arg-type]

    @app.post("/api/test-change/{name}", dependencies=[Depends(security.require_admin)])
    async def change(request: Request, name: str) -> dict[str, str]:
        await audit(request, "thing.update", name, tier="super", password="hunter2")
        return {}

    return app


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.4", 5000)),
        base_url="http://admin.test",
    )


async def test_records_who_what_and_from_where_newest_first() -> None:
    async with client(build()) as http:
        for name in ("a", "b", "c"):
            assert (await http.post(f"/api/test-change/{name}", headers=BEARER)).status_code == 200
        page = (await http.get("/api/audit?limit=2", headers=BEARER)).json()
    assert page["total"] == 3 and page["limit"] == 2
    assert [e["target"] for e in page["items"]] == ["c", "b"]
    newest = page["items"][0]
    assert newest["action"] == "thing.update"
    assert newest["client"] == "198.51.100.4"
    assert newest["actor"] == "bearer"
    assert newest["detail"] == {"tier": "super", "password": "***"}


def test_masks_values_of_secret_named_keys_at_any_depth() -> None:
    detail = {"note": "x", "sso_cookie": "s", "inner": {"credential": "c", "token_id": "t1"}}
    assert scrub(detail) == {
        "note": "x", "sso_cookie": "***", "inner": {"credential": "***", "token_id": "t1"},
    }


def test_keeps_detail_json_whatever_the_caller_passes() -> None:
    when = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    detail = {"at": when, "tags": ("a", "b"), "nested": [{"api_key": "k"}], "n": 3}
    assert scrub(detail) == {
        "at": str(when), "tags": ["a", "b"], "nested": [{"api_key": "***"}], "n": 3,
    }


async def test_an_offset_past_what_the_store_can_count_is_refused(
    store: protocols.Store,
) -> None:
    """Regression (found by tests/fuzz): offset 2**63 overflowed SQLite's INTEGER, a 500."""
    app = admin_app.create_app(settings=LiveSettings(Settings()), pool=None,  # type: ignore[arg-type]
                               audit_log=store.audit)  # fmt: skip
    async with client(app) as http:
        last = await http.get(f"/api/audit?offset={2**63 - 1}", headers=BEARER)
        past = await http.get(f"/api/audit?offset={2**63}", headers=BEARER)
    assert last.status_code == 200 and last.json()["items"] == []
    assert past.status_code == 400
    assert past.json()["error"]["message"].startswith("query.offset:")
