"""The gateway's OpenAPI description with the request bodies its document leaves out.

The served ``/openapi.json`` lists the FastAPI routes without bodies (their handlers read
bytes through ``bodies.read`` and parse them with pydantic models or the media form
parser), and not the hot routes at all (``/v1/chat/completions``, ``/v1/messages``,
``/v1/messages/count_tokens``). ``completed(served)`` adds those bodies: the parsers' own
pydantic models for JSON, small hand-written schemas for the media forms.

Two restrictions keep every request on loopback: URL fields (image and file URLs) only
ever hold ``data:`` URIs, and models are real catalogue ids so that accepted requests reach
the simulator.
"""

from __future__ import annotations

import copy
from typing import Any

from gateway.anthropic.request import CountTokensRequest, MessagesRequest
from gateway.chat.request import ChatCompletionRequest
from gateway.responses_api.request import ResponsesRequest
from grok_web import catalogue
from pydantic import BaseModel

CHAT_MODELS = [spec.id for spec in catalogue.MODELS if spec.kind == "chat"]
IMAGE_MODELS = [spec.id for spec in catalogue.MODELS if spec.kind == "image"]
EDIT_MODELS = [spec.id for spec in catalogue.MODELS if spec.kind == "image_edit"]
VIDEO_MODELS = [spec.id for spec in catalogue.MODELS if spec.kind == "video"]
URL_FIELDS = frozenset({"url", "image_url", "file_url", "input_reference"})
DATA_URI = {"type": "string", "pattern": r"^data:image/png;base64,[A-Za-z0-9+/]{0,24}$"}

IMAGE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": {"enum": IMAGE_MODELS},
        "prompt": {"type": "string", "maxLength": 200},
        "n": {"type": "integer"},
        "size": {"type": "string"},
        "response_format": {"enum": ["url", "b64_json"]},
        "stream": {"type": "boolean"},
    },
    "required": ["prompt"],
}
EDIT_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": {"enum": EDIT_MODELS},
        "prompt": {"type": "string", "maxLength": 200},
        "image": {"type": "string", "format": "binary"},
        "n": {"type": "integer"},
        "response_format": {"enum": ["url", "b64_json"]},
    },
    "required": ["prompt", "image"],
}
VIDEO_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": {"enum": VIDEO_MODELS},
        "prompt": {"type": "string", "maxLength": 200},
        "seconds": {"type": "string"},
        "size": {"type": "string"},
        "input_reference": DATA_URI,
    },
    "required": ["prompt"],
}


def _model_schema(model: type[BaseModel], prefix: str, components: dict[str, Any]) -> Any:
    schema = model.model_json_schema(ref_template=f"#/components/schemas/{prefix}{{model}}")
    for name, definition in schema.pop("$defs", {}).items():
        components[prefix + name] = definition
    return schema


def _pin(node: Any, models: list[str]) -> Any:
    """``node`` with every URL field limited to data URIs and ``model`` to ``models``."""
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
        if "model" in properties:
            properties["model"] = {"enum": models}
    return pinned


def _allows_string(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "string":
        return True
    return any(_allows_string(option) for option in schema.get("anyOf", ()))


def _json_body(schema: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _post(spec: dict[str, Any], path: str, body: dict[str, Any]) -> None:
    operation = spec["paths"].setdefault(path, {}).setdefault(
        "post", {"responses": {"200": {"description": "answered"}}}
    )
    operation["requestBody"] = body


def completed(served: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(served)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    # HEAD and GET of one route share an operation id; make them unique.
    for path_item in spec["paths"].values():
        for method, operation in path_item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                operation["operationId"] = f"{operation['operationId']}_{method}"
    for path, model, prefix in (
        ("/v1/chat/completions", ChatCompletionRequest, "Chat"),
        ("/v1/messages", MessagesRequest, "Messages"),
        ("/v1/messages/count_tokens", CountTokensRequest, "Count"),
        ("/v1/responses", ResponsesRequest, "Responses"),
    ):
        _post(spec, path, _json_body(_model_schema(model, prefix, components)))
    _post(spec, "/v1/images/generations", _json_body(IMAGE_BODY))
    _post(spec, "/v1/images/edits", {
        "required": True,
        "content": {"multipart/form-data": {"schema": EDIT_FORM},
                    "application/json": {"schema": {**EDIT_FORM, "properties": {
                        **EDIT_FORM["properties"], "image": DATA_URI}}}},
    })  # fmt: skip
    _post(spec, "/v1/videos", _json_body(VIDEO_BODY))
    spec["components"]["schemas"] = _pin(components, CHAT_MODELS)
    spec["paths"] = {
        path: {
            method: _pin(op, CHAT_MODELS) if path in _CHAT_PATHS else op
            for method, op in item.items()
        }
        for path, item in spec["paths"].items()
    }
    return spec


_CHAT_PATHS = frozenset(
    {"/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens", "/v1/responses"}
)
