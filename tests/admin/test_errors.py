"""The admin API's one error shape, whatever raised the error."""

from __future__ import annotations

from pathlib import Path

from admin_support import BEARER, build, client
from fastapi import APIRouter, HTTPException


async def test_every_api_error_has_the_error_shape_and_keeps_structured_detail(
    tmp_path: Path,
) -> None:
    app = build(tmp_path)
    router = APIRouter()

    @router.put("/api/test-refusal")
    async def refuse() -> None:
        raise HTTPException(400, detail={"invalid": {"retry.max_retry": "must be >= 0"}})

    app.include_router(router)
    async with client(app) as http:
        refused = (await http.put("/api/test-refusal", headers=BEARER)).json()
        missing = await http.get("/api/no-such-thing", headers=BEARER)
        bad_query = await http.get("/api/audit", params={"limit": 0}, headers=BEARER)
    assert refused["error"] == {
        "message": "invalid.retry.max_retry: must be >= 0",
        "type": "invalid_request_error",
        "code": "http_error",
        "detail": {"invalid": {"retry.max_retry": "must be >= 0"}},
    }
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert bad_query.status_code == 400
    assert bad_query.json()["error"]["message"].startswith("query.limit:")


async def test_an_unexpected_failure_is_a_500_in_the_error_shape_without_its_text(
    tmp_path: Path,
) -> None:
    app = build(tmp_path)
    router = APIRouter()

    @router.get("/api/test-bug")
    async def bug() -> None:
        raise RuntimeError("secret-looking internals")

    app.include_router(router)
    async with client(app) as http:
        answer = await http.get("/api/test-bug", headers=BEARER)
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert (error["type"], error["code"]) == ("server_error", "internal_error")
    assert "log" in error["message"] and "secret-looking" not in answer.text
