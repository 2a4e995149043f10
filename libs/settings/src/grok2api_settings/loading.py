"""Loading settings: defaults ← ``DATA_DIR/config.toml`` ← environment variables.

Environment naming rule: any key is ``GROK2API_<SECTION>__<KEY>`` (for example
``GROK2API_CHAT__STREAM=false``; lists as JSON or comma-separated). The original
project's variables keep their names (``LOG_LEVEL``, ``SERVER_PORT``, …), as do
``REDIS_URL``, ``TOKEN_POOL_ADDR`` and OpenTelemetry's ``OTEL_*``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic

from . import legacy, model
from .errors import SettingsError

log = logging.getLogger(__name__)

ENV_PREFIX = "GROK2API_"
NAMED_ENV = {
    "DATA_DIR": ("", "data_dir"),
    "LOG_LEVEL": ("log", "level"),
    "LOG_FILE_ENABLED": ("log", "file_enabled"),
    "LOG_FORMAT": ("log", "format"),
    "SERVER_HOST": ("server", "host"),
    "SERVER_PORT": ("server", "port"),
    "SERVER_WORKERS": ("server", "workers"),
    "SERVER_STORAGE_TYPE": ("server", "storage_type"),
    "SERVER_STORAGE_URL": ("server", "storage_url"),
    "REDIS_URL": ("services", "redis_url"),
    "TOKEN_POOL_ADDR": ("services", "token_pool_addr"),
    "OTEL_SERVICE_NAME": ("telemetry", "service_name"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": ("telemetry", "otlp_endpoint"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Loaded:
    """Settings plus, for every dotted key that is not a default, where its value came from."""

    settings: model.Settings
    origins: Mapping[str, str]
    config_file: Path
    warnings: tuple[str, ...] = ()

    def origin(self, dotted: str) -> str:
        return self.origins.get(dotted, "default")


def load(
    *, config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Loaded:
    """Build the effective settings. Raises ``SettingsError`` naming the bad key and source."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("DATA_DIR") or "./data")
    path = config_file or data_dir / "config.toml"
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    warnings: list[str] = []
    if path.exists():
        file_values = read_file(path)
        warnings += _drop_unknown(file_values, source=str(path))
        for section, key, value in _items(file_values):
            _put(values, section, key, value)
            origins[_dotted(section, key)] = f"file:{path}"
    for (section, key), (name, raw) in _env_items(env).items():
        _put(values, section, key, _parse_env(section, key, raw))
        origins[_dotted(section, key)] = f"env:{name}"
    for warning in warnings:
        log.warning("settings_unknown_key %s", warning)
    return Loaded(
        settings=validate(values, origins=origins),
        origins=origins,
        config_file=path,
        warnings=tuple(warnings),
    )


def read_file(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}", source=str(path)) from exc
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror}", source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)", source=str(path)
        ) from exc
    return legacy.migrate(raw, source=str(path))


def validate(values: Mapping[str, Any], *, origins: Mapping[str, str]) -> model.Settings:
    try:
        return model.Settings.model_validate(values)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        dotted = ".".join(str(part) for part in first["loc"])
        top = ".".join(str(part) for part in first["loc"][:2])
        source = origins.get(dotted) or origins.get(top, "default")
        shown = "***" if _is_secret_path(first["loc"]) else repr(first.get("input"))
        raise SettingsError(
            f"setting {dotted} = {shown} from {source}: {first['msg']}", key=dotted, source=source
        ) from None


def _is_secret_path(loc: tuple[Any, ...]) -> bool:
    if len(loc) < 2 or loc[0] not in model.section_models():
        return False
    fields = model.section_models()[loc[0]].model_fields
    return loc[1] in fields and model.is_secret(str(loc[0]), str(loc[1]))


def _drop_unknown(values: dict[str, Any], *, source: str) -> list[str]:
    sections = model.section_models()
    warnings = []
    for section in list(values):
        if section == "data_dir":
            continue
        if section not in sections or not isinstance(values[section], dict):
            warnings.append(f"unknown section [{section}] in {source} ignored")
            values.pop(section)
            continue
        for key in list(values[section]):
            if key not in sections[section].model_fields:
                warnings.append(f"unknown key {section}.{key} in {source} ignored")
                values[section].pop(key)
    return warnings


def _env_items(env: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for name, target in NAMED_ENV.items():
        if env.get(name, "") != "":
            found[target] = (name, env[name])
    sections = model.section_models()
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
        if section not in sections or key not in sections[section].model_fields:
            raise SettingsError(
                f"environment variable {name} names no setting "
                f"(rule: {ENV_PREFIX}<SECTION>__<KEY>, e.g. GROK2API_CHAT__STREAM)",
                source=f"env:{name}",
            )
        found[(section, key)] = (name, raw)
    return found


def _parse_env(section: str, key: str, raw: str) -> Any:
    if not section:
        return raw
    annotation = model.section_models()[section].model_fields[key].annotation
    if getattr(annotation, "__origin__", None) is list:
        text = raw.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
        return [part.strip() for part in text.split(",") if part.strip()]
    return raw


def _items(values: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for section, table in values.items():
        if isinstance(table, dict):
            out += [(section, key, value) for key, value in table.items()]
        else:
            out.append(("", section, table))
    return out


def _put(values: dict[str, Any], section: str, key: str, value: Any) -> None:
    if section:
        values.setdefault(section, {})[key] = value
    else:
        values[key] = value


def _dotted(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key
