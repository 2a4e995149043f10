"""Account change notices between replicas, and the credential cache they keep fresh.

A notice is ``{"kind": ..., "id": ...}`` published through the hot state (Redis pub/sub, or
a local fan-out). Credentials (and user ids) never travel in notices: every replica reads
them from the durable store and caches them until a notice says the account changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import NamedTuple

from grok2api_poolclient.accounts import ChangeKind

from .hot import base

log = logging.getLogger(__name__)


def encode(kind: ChangeKind, account_id: str) -> bytes:
    return json.dumps({"kind": kind.value, "id": account_id}).encode()


def decode(message: bytes) -> tuple[ChangeKind, str] | None:
    try:
        data = json.loads(message)
        if "topic" in data:
            return None  # a notice of another kind (egresses changed), not an account's
        return ChangeKind(data["kind"]), str(data["id"])
    except (ValueError, KeyError, TypeError):
        log.warning("change_notice_malformed")
        return None


async def notices(hot: base.HotState) -> AsyncIterator[tuple[ChangeKind, str]]:
    async for message in hot.subscribe():
        decoded = decode(message)
        if decoded is not None:
            yield decoded


class Identity(NamedTuple):
    """What a lease carries from the durable store: the credential and the account's
    grok.com user id ("" until recorded)."""

    credential: str
    user_id: str = ""


class CredentialCache:
    """account id → credential and user id, for the acquire hot path; dropped on any
    change notice (a recorded user id is one)."""

    def __init__(self) -> None:
        self._values: dict[str, Identity] = {}

    def get(self, account_id: str) -> Identity | None:
        return self._values.get(account_id)

    def put(self, account_id: str, credential: str, user_id: str = "") -> None:
        self._values[account_id] = Identity(credential, user_id)

    def drop(self, account_id: str) -> None:
        self._values.pop(account_id, None)

    def __repr__(self) -> str:
        return f"CredentialCache(size={len(self._values)})"
