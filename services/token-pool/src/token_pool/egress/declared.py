"""Egresses declared in a file, added or updated by name when the token pool starts.

The file (setting ``egress.declared_file``; the Helm chart mounts it from a Secret, since
proxy URLs carry credentials) is a JSON or YAML list of objects::

    - name: tokyo-1
      proxy: socks5h://user:password@10.0.0.5:1080
      tags: [jp]
      max_inflight: 8
      clearance: cf_clearance=...     # optional, pasted; user_agent: the browser's

``grok2api egress import`` reads the same shapes, and one proxy URL per line. An entry
without a name is named after its proxy's ``host:port`` (``direct`` without a proxy).

Egresses in the store that the file does not name are left alone (added from the CLI or
the admin panel): removing an entry from the file does not remove its egress. A clearance
in the file is applied when the egress has none, or a pasted one that differs; a newer
clearance the solver obtained is kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pydantic
from grok2api_settings import Settings
from grok2api_storage import egresses_common, protocols, records
from grok2api_storage import errors as storage_errors

from .. import errors
from . import management
from .settings_egress import clearance_cookies

log = logging.getLogger(__name__)

SETTING = "egress.declared_file"
_URL_LINE = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


class DeclaredError(ValueError):
    """A file of egresses that cannot be read; the message names the entry, never a secret."""


class Entry(pydantic.BaseModel):
    """One egress as a file declares it. Proxy URLs and the clearance stay out of ``repr``."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    proxy: str = pydantic.Field(
        "", repr=False, validation_alias=pydantic.AliasChoices("proxy", "proxy_url")
    )
    asset_proxy: str = pydantic.Field(
        "", repr=False, validation_alias=pydantic.AliasChoices("asset_proxy", "asset_proxy_url")
    )
    tags: tuple[str, ...] = ()
    enabled: bool = True
    max_inflight: int = pydantic.Field(0, ge=0)
    browser: str = ""
    user_agent: str = ""
    clearance: str = pydantic.Field("", repr=False)
    """A Cookie header (``cf_clearance=…; …``) or a bare ``cf_clearance`` value."""

    @pydantic.field_validator("proxy", "asset_proxy")
    @classmethod
    def _proxy(cls, value: str, info: pydantic.ValidationInfo) -> str:
        return checked_proxy(value, field=str(info.field_name))


def checked_proxy(value: str, *, field: str) -> str:
    """ "" (direct) or a proxy URL the pool accepts (``management.PROXY_SCHEMES``); the
    message never repeats the URL, which may carry a password."""
    url = value.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise ValueError(f"{field} is not a valid URL") from None
    if parts.scheme not in management.PROXY_SCHEMES or not host:
        raise ValueError(
            f"{field} must be scheme://[user:password@]host:port with a scheme of "
            f"{', '.join(management.PROXY_SCHEMES)} (or empty for a direct egress)"
        )
    return url


def derived_name(proxy: str) -> str:
    """``host:port`` of the proxy (``direct`` without one): the name of an unnamed entry."""
    if not proxy:
        return "direct"
    parts = urlsplit(proxy)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{parts.port}" if parts.port else shown


def parse(text: str) -> list[Entry]:
    """Entries from proxy URL lines, or a JSON or YAML list of objects (or URLs)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if lines and all(_URL_LINE.match(line) for line in lines):
        items: Any = lines
    else:
        import yaml  # here: a server that reads no declared file does not hold PyYAML

        try:
            items = yaml.safe_load(text) if text.strip() else []
        except yaml.YAMLError as exc:
            # the mark (line, column) only: the problem's snippet may be a credential
            raise DeclaredError(f"neither proxy URL lines nor JSON/YAML ({_mark(exc)})") from None
    if not isinstance(items, list):
        raise DeclaredError("expected a list of egresses (objects or proxy URLs)")
    return [_entry(item, index) for index, item in enumerate(items, start=1)]


def _mark(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "malformed"


def _entry(item: object, index: int) -> Entry:
    if isinstance(item, str):
        item = {"proxy": item}
    if not isinstance(item, dict):
        raise DeclaredError(f"entry {index}: expected an object or a proxy URL")
    try:
        entry = Entry.model_validate(item)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        # the message only: pydantic's text repeats the input, which may hold a password
        message = first["msg"].removeprefix("Value error, ")
        raise DeclaredError(f"entry {index} ({where}): {message}") from None
    name = entry.name.strip() or derived_name(entry.proxy)
    return entry.model_copy(update={"name": name})


def read(path: Path) -> list[Entry]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeclaredError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DeclaredError(f"{path} is not UTF-8 text") from None
    try:
        return parse(text)
    except DeclaredError as exc:
        raise DeclaredError(f"{path}: {exc}") from None


async def apply_file(settings: Settings, repo: protocols.EgressRepository) -> None:
    """Upsert the egresses of ``egress.declared_file`` (nothing when it is empty);
    ``ConfigurationError`` naming the setting when the file or an entry is bad."""
    path = settings.egress.declared_file
    if not path:
        return
    try:
        entries = read(Path(path))
        added, updated = await apply(repo, entries, user_agent=settings.security.user_agent)
    except (DeclaredError, storage_errors.InvalidRecordError) as exc:
        raise errors.ConfigurationError(f"{SETTING}: {exc}") from exc
    log.info(
        "egress_declared file=%s entries=%d added=%d updated=%d",
        path, len(entries), added, updated,
    )  # fmt: skip


async def apply(
    repo: protocols.EgressRepository, entries: Sequence[Entry], *, user_agent: str
) -> tuple[int, int]:
    """Add each entry's egress, or update the one of that name where it differs; returns
    (added, updated). ``user_agent``: the setting a pasted clearance goes with when its
    entry names none. Safe when replicas start together (a lost race becomes an update)."""
    added = updated = 0
    for entry in entries:
        existing = await repo.find_by_name(entry.name)
        if existing is None:
            try:
                await repo.add(_new(entry, user_agent=user_agent))
                added += 1
                continue
            except storage_errors.DuplicateError:
                existing = await repo.find_by_name(entry.name)
                if existing is None:
                    raise
        patch = _patch(existing, entry, user_agent=user_agent)
        if patch.changes():
            await repo.update(existing.id, patch)
            updated += 1
    return added, updated


def _clearance(entry: Entry, *, user_agent: str) -> records.Clearance | None:
    cookies = clearance_cookies(entry.clearance)
    if not cookies:
        return None
    return records.Clearance(
        cookies=cookies,
        user_agent=entry.user_agent or user_agent,
        obtained_at=datetime.now(UTC),
        source=records.ClearanceSource.MANUAL,
    )


def _new(entry: Entry, *, user_agent: str) -> records.NewEgress:
    return records.NewEgress(
        name=entry.name,
        proxy_url=entry.proxy,
        asset_proxy_url=entry.asset_proxy,
        tags=entry.tags,
        enabled=entry.enabled,
        max_inflight=entry.max_inflight,
        browser=entry.browser,
        user_agent=entry.user_agent,
        clearance=_clearance(entry, user_agent=user_agent),
    )


def _patch(existing: records.EgressRecord, entry: Entry, *, user_agent: str) -> records.EgressPatch:
    wanted: dict[str, Any] = {
        "proxy_url": entry.proxy,
        "asset_proxy_url": entry.asset_proxy,
        "tags": egresses_common.checked_tags(entry.tags),
        "enabled": entry.enabled,
        "max_inflight": entry.max_inflight,
        "browser": entry.browser,
        "user_agent": entry.user_agent,
    }
    changes = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
    cookies = clearance_cookies(entry.clearance)
    held = existing.clearance
    # A new proxy drops the stored clearance (it was tied to the old address); a pasted
    # one replaces only a pasted one, never the solver's newer clearance.
    if cookies and (
        "proxy_url" in changes
        or held is None
        or (held.source is records.ClearanceSource.MANUAL and held.cookies != cookies)
    ):
        changes["clearance"] = _clearance(entry, user_agent=user_agent)
    return records.EgressPatch(**changes)
