"""What every fuzzed API answer must be: no 5xx, and an error in the API's own shape.

* ``/v1/messages*`` (Anthropic): ``{"type": "error", "error": {"type", "message"}}``;
* the rest of ``/v1`` (OpenAI): ``{"error": {"message", "type", "param", "code"}}``;
* the admin API (``/api``): ``{"error": {"message", "type", "code"}}``.

``problems(...)`` returns what is wrong with one answer (empty when it is fine), so a test
can collect every operation's problems before failing.
"""

from __future__ import annotations

import json
from typing import Any


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def openai_error_problems(body: Any) -> list[str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ["no OpenAI error object"]
    found = [f"error.{key} is not a non-empty string" for key in ("message", "type")
             if not _is_text(error.get(key))]  # fmt: skip
    if "code" not in error or not (error["code"] is None or isinstance(error["code"], str)):
        found.append("error.code is missing or not a string/null")
    if "param" not in error:
        found.append("error.param is missing")
    return found


def anthropic_error_problems(body: Any) -> list[str]:
    if not isinstance(body, dict) or body.get("type") != "error":
        return ["not an Anthropic error (type != 'error')"]
    error = body.get("error")
    if not isinstance(error, dict) or not _is_text(error.get("type")) or not _is_text(
        error.get("message")
    ):
        return ["no Anthropic error.type / error.message"]
    return []


def admin_error_problems(body: Any) -> list[str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ["no admin error object"]
    return [f"error.{key} is not a non-empty string" for key in ("message", "type", "code")
            if not _is_text(error.get(key))]  # fmt: skip


def problems(*, api: str, method: str, path: str, status: int, body: bytes) -> list[str]:
    """``api`` is "gateway" or "admin"; ``path`` the request path within that API."""
    found = []
    if status >= 500:
        found.append(f"answered {status}")
    if status < 400 or method == "HEAD":
        return found
    parsed = _json(body)
    if api == "admin":
        found += admin_error_problems(parsed)
    elif path.startswith("/v1/messages"):
        found += anthropic_error_problems(parsed)
    else:
        found += openai_error_problems(parsed)
    return found
