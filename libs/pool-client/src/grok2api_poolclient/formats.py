"""Bulk import and export formats of the original project.

* Lines: one credential per line; blank lines and ``#`` comments ignored; a leading
  ``sso=`` is tolerated.
* Pool file (``token.json``): an object whose keys are pool names, each a list of entries
  ``{"token": ..., "status"?, "quota"?, "tags"?, "note"?}`` (a bare string is accepted as
  an entry too). ``ssoBasic``/``ssoNormal`` → basic, ``ssoSuper`` → super, ``ssoHeavy`` →
  heavy; another name leaves the tier to be inferred. A ``disabled`` status imports the
  account disabled; other statuses and quota figures are re-learned from the upstream.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .accounts import AccountStatus, ExportedAccount
from .leases import Tier

SSO_PREFIX = "sso="


def normalise_credential(raw: str) -> str:
    """The bare sso cookie value: surrounding space and a leading ``sso=`` removed (the
    pool normalises again on upsert; this one drops duplicates before they travel)."""
    value = raw.strip()
    if value.startswith(SSO_PREFIX):
        value = value[len(SSO_PREFIX) :].strip()
    return value

POOL_TIERS: dict[str, Tier] = {
    "ssoBasic": Tier.BASIC,
    "ssoNormal": Tier.BASIC,
    "ssoSuper": Tier.SUPER,
    "ssoHeavy": Tier.HEAVY,
}
EXPORT_POOLS: dict[Tier, str] = {
    Tier.BASIC: "ssoBasic",
    Tier.SUPER: "ssoSuper",
    Tier.HEAVY: "ssoHeavy",
}


class FormatError(ValueError):
    """The input is neither credential lines nor a pool file; the message says where."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImportEntry:
    credential: str = dataclasses.field(repr=False)
    tier: Tier | None = None
    enabled: bool | None = None
    tags: tuple[str, ...] | None = None
    note: str | None = None


def parse(text: str) -> list[ImportEntry]:
    """Entries from either format (a pool file starts with ``{``); duplicates dropped."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise FormatError(f"pool file is not valid JSON (line {exc.lineno})") from exc
        entries = parse_pool_file(data)
    else:
        entries = parse_lines(text)
    unique: dict[str, ImportEntry] = {}
    for entry in entries:
        unique.setdefault(entry.credential, entry)
    return list(unique.values())


def parse_lines(text: str) -> list[ImportEntry]:
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            credential = normalise_credential(line)
            if credential:
                entries.append(ImportEntry(credential=credential))
    return entries


def parse_pool_file(data: Any) -> list[ImportEntry]:
    if not isinstance(data, Mapping):
        raise FormatError("a pool file is a JSON object of pool name → list of entries")
    entries = []
    for pool, items in data.items():
        if not isinstance(items, list):
            raise FormatError(f"pool {pool!r} must hold a list of entries")
        tier = POOL_TIERS.get(str(pool))
        for index, item in enumerate(items):
            entry = _entry(item, tier=tier, where=f"{pool}[{index}]")
            if entry is not None:
                entries.append(entry)
    return entries


def _entry(item: Any, *, tier: Tier | None, where: str) -> ImportEntry | None:
    if isinstance(item, str):
        item = {"token": item}
    if not isinstance(item, Mapping) or not isinstance(item.get("token"), str):
        raise FormatError(f"entry {where} needs a string 'token' field")
    credential = normalise_credential(item["token"])
    if not credential:
        return None
    tags = item.get("tags")
    note = item.get("note")
    return ImportEntry(
        credential=credential,
        tier=tier,
        enabled=False if str(item.get("status", "")).lower() == "disabled" else None,
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else None,
        note=str(note) if note is not None else None,
    )


def to_lines(items: Iterable[ExportedAccount]) -> str:
    return "".join(f"{item.credential}\n" for item in items)


def to_pool_file(items: Iterable[ExportedAccount]) -> dict[str, list[dict[str, Any]]]:
    pools: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        status = AccountStatus.DISABLED if not item.enabled else item.status
        pools.setdefault(EXPORT_POOLS[item.tier], []).append(
            {"token": item.credential, "status": status.value, "tags": list(item.tags),
             "note": item.note}
        )  # fmt: skip
    return pools
