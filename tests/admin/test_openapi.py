"""The admin API's OpenAPI document describes every API route and sits behind the check."""

from __future__ import annotations

from pathlib import Path

from admin_support import BEARER, api_routes, build, client


async def test_describes_every_api_route_and_needs_credentials(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with client(app) as http:
        assert (await http.get("/api/openapi.json")).status_code == 401
        spec = (await http.get("/api/openapi.json", headers=BEARER)).json()
    described = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    expected = {route for route in api_routes(app) if route[1] != "/api/openapi.json"}
    assert expected - {("HEAD", path) for _, path in expected} <= described
    assert spec["info"]["title"] == "grok2api admin"
    assert "/api/auth/login" in spec["paths"] and "/api/audit" in spec["paths"]


async def test_the_import_describes_its_json_and_form_bodies(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with client(app) as http:
        spec = (await http.get("/api/openapi.json", headers=BEARER)).json()
    body = spec["paths"]["/api/accounts/import"]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]["application/json"]["schema"]["properties"]) == {
        "text", "tier", "tags"}  # fmt: skip
    assert body["content"]["multipart/form-data"]["schema"]["properties"]["file"] == {
        "type": "string", "format": "binary",
        "description": "Credential lines or a token.json pool file."}  # fmt: skip
