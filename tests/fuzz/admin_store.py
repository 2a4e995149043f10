"""What the admin API has stored, read back through its own list endpoints, so a test can
tell that a rejected request left the store as it was.

Only fields a request sets are compared (ids, names, tiers, tags, notes, switches, limits),
not counters and timestamps the pool updates on its own. Import and batch jobs run in the
background: ``settle`` waits for the ones a test started before it takes a snapshot.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2

SET_BY_REQUESTS = (
    "id", "name", "tier", "enabled", "tags", "note", "proxy", "asset_proxy", "max_inflight",
    "browser", "user_agent", "models", "state", "rpm", "tpm", "daily_quota", "expires_at",
)  # fmt: skip
LISTS = {"accounts": "/api/accounts?page_size=500", "keys": "/api/keys",
         "egresses": "/api/egresses"}  # fmt: skip


class AdminStore:
    def __init__(self, *, admin_url: str, headers: dict[str, str]):
        self._http = httpx2.Client(base_url=admin_url, headers=headers, timeout=30)
        self._batches: list[str] = []

    def close(self) -> None:
        self._http.close()

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for name, path in LISTS.items():
            answer = self._http.get(path)
            assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
            items = answer.json()["items"]
            found[name] = sorted(
                ({k: item[k] for k in SET_BY_REQUESTS if k in item} for item in items), key=str
            )
        return found

    def note_batch(self, answer_body: bytes) -> None:
        """Remember the batch an accepted import or batch request started."""
        try:
            batch_id = json.loads(answer_body).get("id")
        except (ValueError, AttributeError):
            return
        if isinstance(batch_id, str):
            self._batches.append(batch_id)

    def settle(self, timeout: float = 60) -> None:
        """Wait until every batch noted so far has ended."""
        deadline = time.monotonic() + timeout
        while self._batches:
            answer = self._http.get(f"/api/batches/{self._batches[0]}")
            if answer.status_code != 200 or answer.json().get("status") != "running":
                self._batches.pop(0)
                continue
            if time.monotonic() > deadline:
                raise AssertionError(f"batch {self._batches[0]} still running after {timeout} s")
            time.sleep(0.05)
