"""What a running pool says about itself: which durable store it serves, and its version."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    store_fingerprint: str
    """``grok2api_storage.identity`` fingerprint of the store: equal means the same store."""
    store_kind: str
    """``server.storage_type`` of that store (local, mysql, pgsql, redis)."""
    version: str
    """The pool's package version."""
