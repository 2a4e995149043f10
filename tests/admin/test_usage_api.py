"""The usage API: totals grouped by period, key, model and endpoint under every filter,
records paged newest first by keyset, and the CSV export of every matching record."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from admin import app as admin_app
from admin.routers import usage as usage_router
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import protocols, records

DAY1 = datetime(2030, 3, 1, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def record(n: int, at: datetime, key_id: str | None, **extra: Any) -> records.UsageRecord:
    values: dict[str, Any] = {
        "model": "grok-4", "endpoint": "/v1/chat/completions", "status": 200,
        "prompt_tokens": 10, "completion_tokens": 5, "cost_units": 2, "latency_ms": 100.0,
        "request_id": f"req-{n}", **extra,
    }  # fmt: skip
    return records.UsageRecord(id=f"u{n:04d}", timestamp=at, key_id=key_id, **values)


@pytest.fixture
async def traffic(store: protocols.Store) -> dict[str, str]:
    """Two keys' requests over two days; the names of the keys by id."""
    alpha = (await store.client_keys.create(name="alpha")).record.id
    beta = (await store.client_keys.create(name="beta")).record.id
    await store.usage.add_many([
        record(1, DAY1 + timedelta(hours=1), alpha),
        record(2, DAY1 + timedelta(hours=1, minutes=5), alpha, model="grok-3", latency_ms=300.0),
        record(3, DAY1 + timedelta(hours=9), beta, status=429, error_code="rate_limited",
               prompt_tokens=0, completion_tokens=0, cost_units=0),
        record(4, DAY2 + timedelta(hours=2), alpha, endpoint="/v1/messages"),
        record(5, DAY2 + timedelta(hours=3), None, model="=HYPERLINK(\"x\")"),
    ])  # fmt: skip
    return {"alpha": alpha, "beta": beta}


async def test_summary_groups_by_day_and_model(
    keys_api: httpx2.AsyncClient, traffic: dict[str, str]
) -> None:
    answer = await keys_api.get("/api/usage/summary", params={"group_by": "day,model"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["group_by"] == ["day", "model"]
    rows = [(b["period"][:10], b["model"], b["requests"], b["errors"]) for b in body["items"]]
    assert sorted(rows) == [
        ("2030-03-01", "grok-3", 1, 0),
        ("2030-03-01", "grok-4", 2, 1),
        ("2030-03-02", '=HYPERLINK("x")', 1, 0),
        ("2030-03-02", "grok-4", 1, 0),
    ]


async def test_summary_filters_and_names_keys(
    keys_api: httpx2.AsyncClient, traffic: dict[str, str]
) -> None:
    alpha = traffic["alpha"]
    total = (await keys_api.get("/api/usage/summary", params={"key_id": alpha})).json()["items"]
    first_day = (await keys_api.get("/api/usage/summary", params={
        "since": "2030-03-01", "until": "2030-03-02", "group_by": "key",
    })).json()["items"]  # fmt: skip
    messages = (await keys_api.get("/api/usage/summary", params={
        "endpoint": "/v1/messages", "model": "grok-4", "group_by": "hour",
    })).json()["items"]  # fmt: skip

    assert len(total) == 1
    assert (total[0]["requests"], total[0]["prompt_tokens"], total[0]["cost_units"]) == (3, 30, 6)
    assert total[0]["latency_ms_avg"] == pytest.approx(500 / 3, abs=0.1)
    assert sorted((b["key_name"], b["requests"]) for b in first_day) == [("alpha", 2), ("beta", 1)]
    assert [(b["period"], b["requests"]) for b in messages] == [("2030-03-02T02:00:00Z", 1)]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"group_by": "week"}, "group_by 'week'"),
        ({"group_by": "day,hour"}, "not both"),
        ({"group_by": "model,model"}, "twice"),
        ({"since": "yesterday"}, "since 'yesterday'"),
        ({"since": "2030-03-02", "until": "2030-03-01"}, "since must be before until"),
    ],
)
async def test_bad_filters_are_refused_naming_them(
    keys_api: httpx2.AsyncClient, params: dict[str, str], says: str
) -> None:
    answer = await keys_api.get("/api/usage/summary", params=params)

    assert answer.status_code == 400
    assert says in answer.json()["error"]["message"]


async def test_records_are_paged_newest_first_until_none_are_left(
    keys_api: httpx2.AsyncClient, traffic: dict[str, str]
) -> None:
    seen: list[str] = []
    before: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"before": before} if before else {})}
        page = (await keys_api.get("/api/usage/records", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break

    assert seen == ["u0005", "u0004", "u0003", "u0002", "u0001"]
    assert pages == 3
    one = (await keys_api.get("/api/usage/records", params={"key_id": traffic["beta"]})).json()
    assert [(i["id"], i["key_name"], i["status"], i["error_code"]) for i in one["items"]] == [
        ("u0003", "beta", 429, "rate_limited")
    ]
    assert one["next_before"] is None


async def test_paging_from_a_record_that_does_not_exist_is_refused_naming_before(
    keys_api: httpx2.AsyncClient, traffic: dict[str, str]
) -> None:
    """Regression (found by tests/fuzz): an unknown ``before`` answered 500."""
    answer = await keys_api.get("/api/usage/records", params={"before": "no-such-record"})

    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("before: no usage record")


async def test_the_csv_export_streams_every_matching_record_with_a_header(
    keys_api: httpx2.AsyncClient, traffic: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage_router, "EXPORT_PAGE", 2)  # three pages for five records

    answer = await keys_api.get("/api/usage/export.csv")
    alpha_only = await keys_api.get("/api/usage/export.csv", params={"key_id": traffic["alpha"]})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == list(usage_router.CSV_COLUMNS)
    assert [row["id"] for row in rows] == ["u0005", "u0004", "u0003", "u0002", "u0001"]
    assert rows[2]["key_name"] == "beta" and rows[2]["error_code"] == "rate_limited"
    assert rows[0]["model"] == '\'=HYPERLINK("x")'  # not a formula in a spreadsheet
    assert rows[0]["key_id"] == "" and rows[4]["request_id"] == "req-1"
    assert [r["id"] for r in csv.DictReader(io.StringIO(alpha_only.text))] == [
        "u0004",
        "u0002",
        "u0001",
    ]


async def test_an_empty_export_is_the_header_alone(keys_api: httpx2.AsyncClient) -> None:
    answer = await keys_api.get("/api/usage/export.csv")

    assert answer.text.strip() == ",".join(usage_router.CSV_COLUMNS)


async def test_without_a_usage_store_the_routes_say_so(tmp_path: Path) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "app": {"app_key": "x" * 12}})
    bare = admin_app.create_app(settings=LiveSettings(settings), pool=None)  # type: ignore[arg-type]
    transport = httpx2.ASGITransport(app=bare)
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://admin.test",
        headers={"Authorization": f"Bearer {'x' * 12}"},
    ) as client:  # fmt: skip
        answer = await client.get("/api/usage/summary")

    assert answer.status_code == 503
    assert "usage store" in answer.json()["error"]["message"]
