"""The gateway's served OpenAPI description, narrowed so that fuzzing stays on loopback.

The served ``/openapi.json`` carries every route's request body (``gateway.openapi_doc``).
Two restrictions keep every request on this machine: URL fields (image and file URLs) only
ever hold ``data:`` URIs, and chat models are real catalogue ids so that accepted requests
reach the simulator.
"""

from __future__ import annotations

import copy
from typing import Any

from grok_web import catalogue

CHAT_MODELS = [spec.id for spec in catalogue.MODELS if spec.kind == "chat"]
URL_FIELDS = frozenset({"url", "image_url", "file_url"})
DATA_URI = {"type": "string", "pattern": r"^data:image/png;base64,[A-Za-z0-9+/]{0,24}$"}


def _pin(node: Any, models: list[str] | None) -> Any:
    """``node`` with every URL field limited to data URIs, and ``model`` to ``models``
    unless None."""
    if isinstance(node, list):
        return [_pin(item, models) for item in node]
    if not isinstance(node, dict):
        return node
    pinned = {key: _pin(value, models) for key, value in node.items()}
    properties = pinned.get("properties")
    if isinstance(properties, dict):
        for name in list(properties):
            if name in URL_FIELDS and _allows_string(properties[name]):
                properties[name] = DATA_URI
        if models is not None and "model" in properties:
            properties["model"] = {"enum": models}
    return pinned


def _allows_string(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "string":
        return True
    options = (*schema.get("anyOf", ()), *schema.get("oneOf", ()))
    return any(_allows_string(option) for option in options)


def narrowed(served: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(served)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    spec["components"]["schemas"] = _pin(components, CHAT_MODELS)
    spec["paths"] = {
        path: {
            method: _pin(op, CHAT_MODELS if path in _CHAT_PATHS else None)
            for method, op in item.items()
        }
        for path, item in spec["paths"].items()
    }
    return spec


_CHAT_PATHS = frozenset(
    {"/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens", "/v1/responses"}
)
