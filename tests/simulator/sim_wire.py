"""Wire helpers for the simulator's tests: valid grok.com headers, bodies, frame parsing."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson

UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Safari/537.36"
)
STATSIG = base64.b64encode(
    b"e:TypeError: Cannot read properties of undefined (reading 'x')"
).decode()


def grok_headers(credential: str, *, json_body: bool = True, **extra: Any) -> dict[str, str]:
    """The Python build_headers set (grok-protocol.md §2.2) for one credential."""
    headers = {
        "Cookie": f"sso={credential}; sso-rw={credential}",
        "x-statsig-id": STATSIG,
        "x-xai-request-id": str(uuid.uuid4()),
        "Origin": "https://grok.com",
        "Referer": "https://grok.com/",
        "User-Agent": UA,
        "Accept": "*/*",
    }
    if json_body:
        headers["Content-Type"] = "application/json"
    headers.update(extra)
    return headers


def chat_body(message: str = "Hello", mode: str = "auto", **extra: Any) -> dict[str, Any]:
    """A v2.x chat body (grok-protocol.md §3.1)."""
    body: dict[str, Any] = {
        "collectionIds": [], "connectors": [], "deviceEnvInfo": {"darkModeEnabled": False},
        "disableMemory": True, "disableSearch": False, "disableSelfHarmShortCircuit": False,
        "disableTextFollowUps": False, "enableImageGeneration": True,
        "enableImageStreaming": True, "enableSideBySide": True, "fileAttachments": [],
        "forceConcise": False, "forceSideBySide": False, "imageAttachments": [],
        "imageGenerationCount": 2, "isAsyncChat": False, "message": message, "modeId": mode,
        "responseMetadata": {}, "returnImageBytes": False, "returnRawGrokInXaiRequest": False,
        "searchAllConnectors": False, "sendFinalMetadata": True, "temporary": True,
        "toolOverrides": {},
    }
    body.update(extra)
    return body


def frames_of(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


def responses_of(text: str) -> list[dict[str, Any]]:
    return [f["result"]["response"] for f in frames_of(text) if "response" in f.get("result", {})]


def answer_text(text: str) -> str:
    return "".join(
        r.get("token", "") for r in responses_of(text)
        if not r.get("isThinking") and r.get("messageTag") == "final"
    )


def reasoning_text(text: str) -> str:
    return "".join(r.get("token", "") for r in responses_of(text)
                   if r.get("isThinking") and r.get("messageTag") != "tool_usage_card")
