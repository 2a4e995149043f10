"""Client-key rules shared by both stores: generation, hashing, validation.

Keys are 256-bit random strings, so a plain SHA-256 is enough to make the stored hash
useless to a thief (no dictionary to try), and unlike a key-derived HMAC it survives a
change of ``security.encryption_key``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from . import errors

KEY_PREFIX = "sk-g2a-"
PREFIX_LENGTH = 11
MIN_IMPORTED_KEY_LENGTH = 16
MAX_NAME_LENGTH = 200


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(plain_key: str) -> str:
    return hashlib.sha256(plain_key.encode("utf-8")).hexdigest()


def display_prefix(plain_key: str) -> str:
    """The few leading characters kept for listings (the key's fixed prefix plus 4)."""
    return plain_key[:PREFIX_LENGTH]


def same_hash(stored: str | None, computed: str) -> bool:
    """Constant-time comparison; on a miss it still compares once, so a miss and a hit
    cost the same."""
    if stored is None:
        hmac.compare_digest(computed, computed)
        return False
    return hmac.compare_digest(stored, computed)


def checked_plain_key(plain_key: str | None) -> str:
    if plain_key is None:
        return generate_key()
    plain_key = plain_key.strip()
    if len(plain_key) < MIN_IMPORTED_KEY_LENGTH:
        raise errors.InvalidRecordError(
            f"a client key must be at least {MIN_IMPORTED_KEY_LENGTH} characters long"
        )
    return plain_key


def checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise errors.InvalidRecordError(
            f"a client key needs a name of 1 to {MAX_NAME_LENGTH} characters"
        )
    return name


def checked_changes(changes: dict[str, Any]) -> dict[str, Any]:
    if "name" in changes:
        changes["name"] = checked_name(changes["name"])
    if changes.get("allowed_models") is not None:
        changes["allowed_models"] = models_tuple(changes["allowed_models"])
    limit = changes.get("rate_limit_per_minute")
    if limit is not None and limit <= 0:
        raise errors.InvalidRecordError("rate_limit_per_minute must be positive or None")
    return changes


def models_tuple(models: Sequence[str] | None) -> tuple[str, ...] | None:
    if models is None:
        return None
    return tuple(dict.fromkeys(model.strip() for model in models if model.strip()))
