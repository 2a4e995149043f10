"""Rules shared by both stores for validating accounts and merging imports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from . import crypto, errors, records

MAX_TAG_LENGTH = 64
MAX_USER_ID_LENGTH = 64
T = TypeVar("T")


def validated(account: records.NewAccount) -> records.NewAccount:
    """The account with its credential trimmed and tags cleaned; ``InvalidRecordError``
    for a blank credential or an over-long tag."""
    credential = account.credential.strip()
    if not credential:
        raise errors.InvalidRecordError("an account needs a non-empty credential")
    return dataclasses.replace(account, credential=credential, tags=clean_tags(account.tags))


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags trimmed, blanks dropped, duplicates removed (first one kept, order kept)."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if len(tag) > MAX_TAG_LENGTH:
            raise errors.InvalidRecordError(f"a tag is longer than {MAX_TAG_LENGTH} characters")
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def patch_changes(patch: records.AccountPatch) -> dict[str, Any]:
    """The patch's set fields, checked and normalised like new accounts' fields."""
    changes = patch.changes()
    try:
        if "credential" in changes:
            changes["credential"] = validated(
                records.NewAccount(credential=changes["credential"])
            ).credential
        if "tags" in changes:
            changes["tags"] = clean_tags(changes["tags"])
        if "status" in changes:
            changes["status"] = records.AccountStatus(changes["status"])
        if changes.get("tier") is not None:
            changes["tier"] = records.AccountTier(changes["tier"])
        if "user_id" in changes:
            changes["user_id"] = str(changes["user_id"]).strip()
            if len(changes["user_id"]) > MAX_USER_ID_LENGTH:
                raise ValueError(f"a user id is longer than {MAX_USER_ID_LENGTH} characters")
        if "credential" in changes and "user_id" not in changes:
            changes["user_id"] = ""  # another credential may be another user
    except ValueError as exc:
        raise errors.InvalidRecordError(f"invalid account change: {exc}") from exc
    return changes


def import_changes(account: records.NewAccount) -> dict[str, Any]:
    """What an upsert changes on an existing account: the tier, tags, note and quota the
    import carries. Status and ``enabled`` stay: re-importing a credential must not revive
    an account an operator disabled or the pool marked invalid."""
    changes: dict[str, Any] = {}
    if account.tier is not None:
        changes["tier"] = account.tier
    if account.tags:
        changes["tags"] = account.tags
    if account.note:
        changes["note"] = account.note
    if account.quota:
        changes["quota"] = dict(account.quota)
    return changes


def differing(current: records.AccountRecord, changes: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``changes`` that would actually change ``current``."""
    return {key: value for key, value in changes.items() if getattr(current, key) != value}


@dataclasses.dataclass(frozen=True)
class PreparedImport:
    """Valid, de-duplicated accounts by fingerprint, and how many inputs were dropped."""

    accounts: tuple[tuple[str, records.NewAccount], ...]
    dropped: int


def prepare(
    accounts: Iterable[records.NewAccount], *, cipher: crypto.CredentialCipher
) -> PreparedImport:
    """Blank credentials and repeats within the batch are dropped (counted as skipped)."""
    kept: dict[str, records.NewAccount] = {}
    dropped = 0
    for account in accounts:
        try:
            account = validated(account)
        except errors.InvalidRecordError:
            dropped += 1
            continue
        fingerprint = cipher.fingerprint(account.credential)
        if fingerprint in kept:
            dropped += 1
            continue
        kept[fingerprint] = account
    return PreparedImport(accounts=tuple(kept.items()), dropped=dropped)


def chunks(items: tuple[T, ...], size: int) -> Iterable[tuple[T, ...]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
