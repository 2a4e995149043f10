"""The last requests the simulator received, for assertions in tests."""

from __future__ import annotations

import base64
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson


class Recorder:
    """A bounded ring of request records (method, path, query, headers, client address,
    json/body)."""

    def __init__(self, *, limit: int) -> None:
        self._records: deque[dict[str, Any]] = deque(maxlen=limit)

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes | None,
        content_type: str = "",
        client: str = "",
    ) -> dict[str, Any]:
        # The body is described (JSON-parsed) only when someone reads the records, which
        # keeps recording off the hot path.
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": query,
            "headers": dict(headers),
            "client": client,
            "time": time.time(),
            "_body": body,
            "_content_type": content_type,
        }
        self._records.append(entry)
        return entry

    def select(self, *, path: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Records in arrival order; `path` keeps those whose path starts with it."""
        chosen = [r for r in self._records if path is None or r["path"].startswith(path)]
        return [_public(r) for r in (chosen[-limit:] if limit else chosen)]

    def clear(self) -> None:
        self._records.clear()


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in entry.items() if not k.startswith("_")}
    public.update(describe_body(entry["_body"], content_type=entry["_content_type"]))
    return public


def describe_body(body: bytes | None, *, content_type: str) -> dict[str, Any]:
    """`json` when the body parses as JSON, else `body` as text or `body_base64`."""
    if not body:
        return {"json": None, "body": ""}
    if "json" in content_type or body[:1] in (b"{", b"["):
        try:
            return {"json": orjson.loads(body), "body": body.decode()}
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            pass
    try:
        return {"json": None, "body": body.decode()}
    except UnicodeDecodeError:
        return {"json": None, "body": "", "body_base64": base64.b64encode(body).decode()}
