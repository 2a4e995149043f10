"""Accounts as Redis hashes (all values strings) and the index sets they belong to."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis.asyncio.client import Pipeline

from .. import crypto, records
from .keys import Keys

Hash = dict[str, str]


def text_or_none(value: Any) -> str | None:
    """A reply of the client built with ``decode_responses=True``: already ``str``."""
    return None if value is None else str(value)


def texts(values: Any) -> list[str]:
    return [str(value) for value in values]


def hash_of(value: Any) -> Hash:
    return {str(key): str(item) for key, item in dict(value).items()}


def new_hash(
    account: records.NewAccount,
    *,
    account_id: str,
    fingerprint: str,
    cipher: crypto.CredentialCipher,
    now: datetime,
) -> Hash:
    return {
        "id": account_id,
        "credential": cipher.encrypt(account.credential),
        "fingerprint": fingerprint,
        "tier": account.tier.value if account.tier else "",
        "status": account.status.value,
        "enabled": "1" if account.enabled else "0",
        "tags": json.dumps(list(account.tags)),
        "note": account.note,
        "fail_count": "0",
        "quota": json.dumps(records.quota_to_json(account.quota)),
        "last_used_at": "",
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
        "user_id": "",
    }


def changed_hash(
    stored: Hash, changes: dict[str, Any], *, cipher: crypto.CredentialCipher, now: datetime
) -> Hash:
    """``stored`` with ``changes`` (AccountPatch field names) applied."""
    result = dict(stored)
    for key, value in changes.items():
        if key == "credential":
            result["credential"] = cipher.encrypt(value)
            result["fingerprint"] = cipher.fingerprint(value)
        elif key in ("tier", "status"):
            result[key] = value.value if value is not None else ""
        elif key == "enabled":
            result[key] = "1" if value else "0"
        elif key == "tags":
            result[key] = json.dumps(list(value))
        elif key == "quota":
            result[key] = json.dumps(records.quota_to_json(value))
        elif key == "last_used_at":
            result[key] = value.isoformat() if value else ""
        else:
            result[key] = str(value)
    result["updated_at"] = now.isoformat()
    return result


def decode(stored: Hash, *, cipher: crypto.CredentialCipher) -> records.AccountRecord:
    return records.AccountRecord(
        id=stored["id"],
        credential=cipher.decrypt(stored["credential"]),
        fingerprint=stored["fingerprint"],
        tier=records.AccountTier(stored["tier"]) if stored["tier"] else None,
        status=records.AccountStatus(stored["status"]),
        enabled=stored["enabled"] == "1",
        tags=tuple(json.loads(stored["tags"])),
        note=stored["note"],
        fail_count=int(stored["fail_count"]),
        quota=records.quota_from_json(json.loads(stored["quota"])),
        last_used_at=_time(stored["last_used_at"]),
        created_at=datetime.fromisoformat(stored["created_at"]),
        updated_at=datetime.fromisoformat(stored["updated_at"]),
        user_id=stored.get("user_id", ""),  # absent from hashes written before it existed
    )


def index_keys(keys: Keys, stored: Hash) -> list[str]:
    """The index sets listing this account (status, tier, each tag)."""
    result = [keys.status(stored["status"])]
    if stored["tier"]:
        result.append(keys.tier(stored["tier"]))
    result.extend(keys.tag(tag) for tag in json.loads(stored["tags"]))
    return result


def queue_write(pipe: Pipeline, keys: Keys, *, old: Hash | None, new: Hash) -> None:
    """Queue (after ``multi``) the writes that store ``new`` and move its index entries."""
    account_id = new["id"]
    if old is not None:
        for key in index_keys(keys, old):
            pipe.srem(key, account_id)
        if old["fingerprint"] != new["fingerprint"]:
            pipe.delete(keys.fingerprint(old["fingerprint"]))
    pipe.hset(keys.account(account_id), mapping=new)  # type: ignore[arg-type]
    pipe.zadd(keys.accounts, {account_id: datetime.fromisoformat(new["created_at"]).timestamp()})
    for key in index_keys(keys, new):
        pipe.sadd(key, account_id)
    pipe.set(keys.fingerprint(new["fingerprint"]), account_id)


def queue_delete(pipe: Pipeline, keys: Keys, *, old: Hash) -> None:
    account_id = old["id"]
    for key in index_keys(keys, old):
        pipe.srem(key, account_id)
    pipe.delete(keys.fingerprint(old["fingerprint"]), keys.account(account_id))
    pipe.zrem(keys.accounts, account_id)


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
