"""The admin API's OpenAPI document, behind the admin check like the API it describes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["openapi"])


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> dict[str, Any]:
    """OpenAPI 3 of every API route; ``servers`` names the prefix the app is served at."""
    schema = dict(request.app.openapi())
    root = str(request.scope.get("root_path") or "")
    if root:
        schema["servers"] = [{"url": root}]
    return schema
