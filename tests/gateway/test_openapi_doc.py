"""The served ``/openapi.json`` describes every route's request body, the hot routes
included, with unique operation ids (what client generators need)."""

from __future__ import annotations

from typing import Any

import httpx2
from gateway_fakes import Gateway

BODIES = {
    "/v1/chat/completions": {"application/json"},
    "/v1/messages": {"application/json"},
    "/v1/messages/count_tokens": {"application/json"},
    "/v1/responses": {"application/json"},
    "/v1/images/generations": {"application/json", "multipart/form-data"},
    "/v1/images/edits": {"multipart/form-data"},
    "/v1/videos": {"application/json", "multipart/form-data"},
}


async def _served(gateway: Gateway) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        answer = await http.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


async def test_every_post_route_has_its_request_body(gateway: Gateway) -> None:
    spec = await _served(gateway)
    for path, media_types in BODIES.items():
        body = spec["paths"][path]["post"]["requestBody"]
        assert body["required"] is True and set(body["content"]) == media_types, path
    chat = _resolve(spec, spec["paths"]["/v1/chat/completions"]["post"]["requestBody"]
                    ["content"]["application/json"]["schema"])  # fmt: skip
    assert {"model", "messages", "stream"} <= set(chat["properties"])
    anthropic = _resolve(spec, spec["paths"]["/v1/messages"]["post"]["requestBody"]
                         ["content"]["application/json"]["schema"])  # fmt: skip
    assert {"model", "messages", "max_tokens"} <= set(anthropic["properties"])
    edit = spec["paths"]["/v1/images/edits"]["post"]["requestBody"]["content"][
        "multipart/form-data"]["schema"]  # fmt: skip
    assert {"image", "image[]", "prompt", "n"} <= set(edit["properties"])


async def test_every_reference_resolves_and_operation_ids_are_unique(gateway: Gateway) -> None:
    spec = await _served(gateway)
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]  # fmt: skip
    assert len(ids) == len(set(ids))

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    names = set(spec["components"]["schemas"])
    missing = {ref for ref in refs(spec) if ref.rsplit("/", 1)[1] not in names}
    assert missing == set()
