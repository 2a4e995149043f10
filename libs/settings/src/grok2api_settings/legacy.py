"""Migration of config files written for older layouts of the original project.

Older files kept most keys in a ``[grok]`` section and network/security keys in
``[proxy]``; some versions put chat flags under ``[app]``. Each such key moves to the
section that owns it now, with one log line per moved key, so an upgrade never silently
drops a value.
"""

from __future__ import annotations

import logging
from typing import Any

from . import model

log = logging.getLogger(__name__)

LEGACY_SECTIONS = ("grok", "proxy", "features")

# Keys whose name changed as well as their section.
RENAMED = {
    ("grok", "stream_timeout"): ("timeout", "stream_idle_timeout"),
    ("grok", "video_timeout"): ("timeout", "video_idle_timeout"),
    ("proxy", "proxy_url"): ("network", "base_proxy_url"),
    ("grok", "proxy_url"): ("network", "base_proxy_url"),
    ("grok", "max_retries"): ("retry", "max_retry"),
}


def _owner_of(key: str) -> str | None:
    owners = [name for name, sec in model.section_models().items() if key in sec.model_fields]
    return owners[0] if len(owners) == 1 else None


def migrate(raw: dict[str, Any], *, source: str) -> dict[str, Any]:
    """Return ``raw`` in the current layout. Keys that fit nowhere are left for the
    unknown-key check to report."""
    current = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    sections = model.section_models()
    for old_section in (*LEGACY_SECTIONS, *sections):
        table = current.get(old_section)
        if not isinstance(table, dict):
            continue
        for key in list(table):
            if old_section in sections and key in sections[old_section].model_fields:
                continue
            target = RENAMED.get((old_section, key)) or _target_for(key)
            if target is None:
                continue
            new_section, new_key = target
            if not isinstance(current.setdefault(new_section, {}), dict):
                continue  # ``network = 5``: not a table; the unknown-key check reports it
            value = table.pop(key)
            current[new_section].setdefault(new_key, value)
            log.warning(
                "settings_key_migrated from=%s.%s to=%s.%s source=%s",
                old_section, key, new_section, new_key, source,
            )
        if old_section in LEGACY_SECTIONS and not table:
            current.pop(old_section)
    return current


def _target_for(key: str) -> tuple[str, str] | None:
    owner = _owner_of(key)
    return (owner, key) if owner else None
