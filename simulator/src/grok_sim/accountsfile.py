"""Reading seed accounts from a file.

Two formats, chosen by content:
- JSON: a list (or `{"accounts": [...]}`) whose items are credential strings or objects
  `{"credential": "...", "tier": "basic|super|heavy", "quotas": {"auto": 3, ...}}`;
- text: one account per line, `<credential> [tier]`; blank lines and `#` comments ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .accounts import TIERS, normalise_credential
from .errors import ConfigError
from .state import SeedAccount


def load_accounts(path: Path) -> list[SeedAccount]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read accounts file {path}: {error}") from error
    if text.lstrip().startswith(("[", "{")):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise ConfigError(f"accounts file {path} is not valid JSON: {error}") from error
        return parse_json_accounts(data, source=str(path))
    return parse_text_accounts(text, source=str(path))


def parse_json_accounts(data: Any, *, source: str) -> list[SeedAccount]:
    items = data.get("accounts") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(f"{source}: expected a list of accounts")
    seeds = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            item = {"credential": item}
        if not isinstance(item, dict) or not isinstance(item.get("credential"), str):
            raise ConfigError(f"{source}: account #{index} needs a string credential")
        seeds.append(_seed(item["credential"], str(item.get("tier", "basic")),
                           item.get("quotas"), where=f"{source}: account #{index}"))
    return seeds


def parse_text_accounts(text: str, *, source: str) -> list[SeedAccount]:
    seeds = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        tier = parts[1] if len(parts) > 1 else "basic"
        seeds.append(_seed(parts[0], tier, None, where=f"{source}:{number}"))
    return seeds


def _seed(credential: str, tier: str, quotas: Any, *, where: str) -> SeedAccount:
    if tier not in TIERS:
        raise ConfigError(f"{where}: tier must be one of {TIERS}, got {tier!r}")
    if quotas is not None and not isinstance(quotas, dict):
        raise ConfigError(f"{where}: quotas must be an object")
    credential = normalise_credential(credential)
    if not credential:
        raise ConfigError(f"{where}: empty credential")
    return SeedAccount(credential=credential, tier=tier, quotas=quotas)
