"""Validation and secret handling shared by the SQL and Redis egress stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from . import crypto, errors, records

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
NAME_MAX = 100
TEXT_MAX = {"browser": 64, "user_agent": 512}


def checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise errors.InvalidRecordError(f"an egress name must have 1 to {NAME_MAX} characters")
    return name


def checked_proxy(url: str, *, field: str) -> str:
    """``""`` (direct) or a proxy URL with a known scheme and a host; the message never
    repeats the URL (it may carry a password)."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise errors.InvalidRecordError(f"{field} is not a valid URL") from exc
    if parts.scheme not in PROXY_SCHEMES or not host:
        raise errors.InvalidRecordError(
            f"{field} must be scheme://[user:password@]host:port with a scheme of "
            f"{', '.join(PROXY_SCHEMES)} (or empty for a direct egress)"
        )
    return url


def checked_inflight(value: int) -> int:
    if value < 0:
        raise errors.InvalidRecordError("max_inflight must be 0 (no cap) or more")
    return value


def checked_text(field: str, value: str) -> str:
    if len(value) > TEXT_MAX[field]:
        raise errors.InvalidRecordError(f"{field} is longer than {TEXT_MAX[field]} characters")
    return value


def checked_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            seen[tag] = None
    return tuple(seen)


def validated(egress: records.NewEgress) -> records.NewEgress:
    return records.NewEgress(
        name=checked_name(egress.name),
        proxy_url=checked_proxy(egress.proxy_url, field="proxy_url"),
        asset_proxy_url=checked_proxy(egress.asset_proxy_url, field="asset_proxy_url"),
        tags=checked_tags(egress.tags),
        enabled=egress.enabled,
        max_inflight=checked_inflight(egress.max_inflight),
        browser=checked_text("browser", egress.browser),
        user_agent=checked_text("user_agent", egress.user_agent),
        clearance=egress.clearance,
    )


def validated_changes(patch: records.EgressPatch) -> dict[str, object]:
    """The patch's fields, validated; a new proxy drops the clearance unless one is given."""
    changes = patch.changes()
    checks: dict[str, Callable[[Any], Any]] = {
        "name": checked_name,
        "proxy_url": lambda v: checked_proxy(v, field="proxy_url"),
        "asset_proxy_url": lambda v: checked_proxy(v, field="asset_proxy_url"),
        "tags": checked_tags,
        "max_inflight": checked_inflight,
        "browser": lambda v: checked_text("browser", v),
        "user_agent": lambda v: checked_text("user_agent", v),
    }
    for field, check in checks.items():
        if field in changes:
            changes[field] = check(changes[field])
    if "proxy_url" in changes and "clearance" not in changes:
        changes["clearance"] = None
    return changes


def seal(cipher: crypto.CredentialCipher, plain: str) -> str:
    """Encrypted, or "" for "" (a direct egress, no clearance) so nothing needs a key."""
    return cipher.encrypt(plain) if plain else ""


def unseal(cipher: crypto.CredentialCipher, token: str) -> str:
    return cipher.decrypt(token) if token else ""


def clearance_of(
    cipher: crypto.CredentialCipher,
    *,
    sealed: str,
    user_agent: str,
    obtained_at: datetime | None,
    expires_at: datetime | None,
    source: str,
) -> records.Clearance | None:
    if not sealed or obtained_at is None:
        return None
    return records.Clearance(
        cookies=unseal(cipher, sealed),
        user_agent=user_agent,
        obtained_at=obtained_at,
        expires_at=expires_at,
        source=records.ClearanceSource(source or records.ClearanceSource.MANUAL),
    )
