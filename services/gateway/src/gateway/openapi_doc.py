"""The gateway's ``/openapi.json``: FastAPI's description plus the request bodies it cannot see.

The handlers read their bodies as bytes (``bodies.read``, within size and time bounds) and
parse them themselves, so FastAPI lists no body for them, and the hot routes
(``/v1/chat/completions``, ``/v1/messages``, ``.../count_tokens``) are plain Starlette
routes it does not list at all. :func:`install` adds those operations and bodies: the JSON
parsers' own pydantic models, and schemas for the media forms that say what
``media.params`` accepts.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from grok2api_media.jobs import ASPECT_RATIOS, VIDEO_LENGTHS, VIDEO_PRESETS
from grok_web import catalogue
from pydantic import BaseModel

from .anthropic.request import CountTokensRequest, MessagesRequest
from .chat.request import ChatCompletionRequest
from .media import params, sizes
from .responses_api.request import ResponsesRequest

_MODELS_OF: dict[str, list[str]] = {}
for _spec in catalogue.MODELS:
    _MODELS_OF.setdefault(_spec.kind, []).append(_spec.id)

_IMAGE_FIELDS: dict[str, Any] = {
    "prompt": {"type": "string", "description": "What to draw."},
    "n": {
        "type": "integer", "minimum": 1, "maximum": params.MAX_IMAGES, "default": 1,
        "description": f"Images to make (at most {params.MAX_STREAM_IMAGES} when streaming).",
    },
    "size": {
        "type": "string", "default": "auto",
        "description": "OpenAI's sizes (mapped to the nearest aspect ratio) or a ratio: "
        + ", ".join(ASPECT_RATIOS) + ".",
    },
    "response_format": {
        "type": "string", "enum": ["url", "b64_json", "base64"],
        "description": "Absent: `app.image_format`. `base64` is the original project's name "
        "for `b64_json`.",
    },
    "stream": {"type": "boolean", "default": False,
               "description": "Server-sent events with partial images."},
}  # fmt: skip
_IMAGE_FILE = {"type": "string", "format": "binary", "description": "PNG, JPEG or WebP."}
_FILES = {"type": "array", "items": _IMAGE_FILE, "maxItems": params.MAX_EDIT_IMAGES}

IMAGE_GENERATION: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "model": {"type": "string", "enum": _MODELS_OF["image"], "default": params.IMAGE_MODEL},
        **_IMAGE_FIELDS,
    },
}
IMAGE_EDIT: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "description": f"One to {params.MAX_EDIT_IMAGES} reference images as `image` or `image[]`.",
    "properties": {
        "model": {
            "type": "string", "enum": _MODELS_OF["image_edit"], "default": params.IMAGE_EDIT_MODEL,
        },
        "image": {"oneOf": [_IMAGE_FILE, _FILES]},
        "image[]": _FILES,
        **_IMAGE_FIELDS,
    },
}  # fmt: skip
VIDEO: dict[str, Any] = {
    "type": "object",
    "required": ["prompt"],
    "properties": {
        "model": {"type": "string", "default": params.VIDEO_MODEL,
                  "description": "The video model; OpenAI's `sora-2` names map to it."},
        "prompt": {"type": "string"},
        "seconds": {"type": "string",
                    "enum": sorted({str(n) for n in (*VIDEO_LENGTHS, *sizes.OPENAI_SECONDS)}),
                    "description": "Seconds: " + ", ".join(map(str, VIDEO_LENGTHS))
                    + "; OpenAI's 4, 8 and 12 make 6, 10 and 15."},
        "size": {"type": "string", "enum": sorted(set(sizes.VIDEO_SIZES.values())),
                 "description": "Sets the aspect ratio and resolution."},
        "aspect_ratio": {"type": "string", "enum": list(ASPECT_RATIOS)},
        "resolution": {"type": "string", "enum": list(params.RESOLUTIONS)},
        "preset": {"type": "string", "enum": list(VIDEO_PRESETS), "default": "custom"},
        "upscale": {"type": "boolean", "default": False},
        "input_reference": {
            "description": "A reference image: a file (multipart) or `{\"image_url\": ...}`.",
            "oneOf": [_IMAGE_FILE, {"type": "object", "required": ["image_url"],
                                    "properties": {"image_url": {"type": "string"}}}],
        },
    },
}  # fmt: skip

# path, body model, prefix of its schemas' names (OpenAI's and Anthropic's share names), summary
_JSON_ROUTES: tuple[tuple[str, type[BaseModel], str, str], ...] = (
    ("/v1/chat/completions", ChatCompletionRequest, "Chat", "Create a chat completion (OpenAI)"),
    ("/v1/messages", MessagesRequest, "Messages", "Create a message (Anthropic)"),
    ("/v1/messages/count_tokens", CountTokensRequest, "CountTokens",
     "Count a message's tokens (Anthropic)"),
    ("/v1/responses", ResponsesRequest, "Responses", "Create a response (OpenAI Responses)"),
)  # fmt: skip


def install(app: FastAPI) -> None:
    """Serve the completed description at ``app.openapi_url`` (built once, on first ask)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for path, model, prefix, summary in _JSON_ROUTES:
        body = _schema(model, prefix, schemas)
        _post(spec, path, summary, {"application/json": {"schema": body}})
    _post(spec, "/v1/images/generations", "Create images",
          {"application/json": {"schema": IMAGE_GENERATION},
           "multipart/form-data": {"schema": IMAGE_GENERATION}})
    _post(spec, "/v1/images/edits", "Edit images (multipart, as OpenAI's SDKs send it)",
          {"multipart/form-data": {"schema": IMAGE_EDIT}})
    _post(spec, "/v1/videos", "Create a video job",
          {"application/json": {"schema": VIDEO}, "multipart/form-data": {"schema": VIDEO}})
    return spec


def _schema(model: type[BaseModel], prefix: str, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=f"#/components/schemas/{prefix}{{model}}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[prefix + name] = definition
    schemas[prefix + model.__name__] = schema
    return {"$ref": f"#/components/schemas/{prefix}{model.__name__}"}


def _post(spec: dict[str, Any], path: str, summary: str, content: dict[str, Any]) -> None:
    operation = spec["paths"].setdefault(path, {}).setdefault("post", {})
    operation.setdefault("summary", summary)
    operation.setdefault("operationId", path.strip("/").replace("/", "_") + "_post")
    responses = operation.setdefault("responses", {})
    responses.setdefault("200", {"description": "The answer (JSON, or server-sent events when "
                                                "streaming)."})  # fmt: skip
    responses.setdefault("default", {"description": "An error in the API's own error shape."})
    operation["requestBody"] = {"required": True, "content": copy.deepcopy(content)}
