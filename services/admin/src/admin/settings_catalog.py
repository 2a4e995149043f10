"""Every setting described for the panel: documentation, type, default, current value and
its source, secrets masked.

A secret's value is never shown: ``"****"`` when it is set, ``""`` when empty (an empty
``app.api_key`` means an open API, which the operator must be able to see).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from grok2api_settings import applying, model
from pydantic.fields import FieldInfo

MASK = "****"

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def fields() -> Iterator[tuple[str, str, FieldInfo]]:
    """(section, dotted key, field) of every setting, in the model's order; ``data_dir``
    comes first, in a section of its own named ``general``."""
    yield "general", "data_dir", model.Settings.model_fields["data_dir"]
    for section, sec_model in model.section_models().items():
        for key, field in sec_model.model_fields.items():
            yield section, f"{section}.{key}", field


def exists(dotted: str) -> bool:
    return any(key == dotted for _, key, _ in fields())


def is_secret(dotted: str) -> bool:
    section, _, key = dotted.partition(".")
    return bool(key) and model.is_secret(section, key)


def value_of(settings: model.Settings, dotted: str) -> Any:
    """The JSON form of one setting's value."""
    section, _, key = dotted.partition(".")
    if not key:
        return str(settings.data_dir)
    value = getattr(getattr(settings, section), key)
    return list(value) if isinstance(value, list | tuple) else value


def shown(dotted: str, value: Any) -> Any:
    """``value`` as the panel may show it: secrets masked."""
    if is_secret(dotted):
        return MASK if value else ""
    return value


def type_of(field: FieldInfo) -> tuple[str, list[Any] | None]:
    """A type name (``boolean``, ``integer``, ``number``, ``string``, ``list[integer]``,
    ``choice``, ``path``) and, for a choice, its allowed values."""
    annotation = field.annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "choice", list(typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"list[{_TYPE_NAMES.get(item, 'string')}]", None
    if isinstance(annotation, type) and annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation], None
    if isinstance(annotation, types.UnionType):
        return "string", None
    return "path", None


def origin_name(dotted: str, *, overridden: bool, origins: Mapping[str, str]) -> str:
    """``override`` (stored at runtime), ``environment``, ``file`` or ``default``."""
    if overridden:
        return "override"
    origin = origins.get(dotted, "default")
    if origin.startswith("env:"):
        return "environment"
    if origin.startswith("file:"):
        return "file"
    return "default"


def describe(
    *,
    current: model.Settings,
    overrides: Mapping[str, Any],
    origins: Mapping[str, str],
    stored: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Sections in model order, each with its settings (the ``GET /settings`` body).

    ``overrides``: the keys overridden at runtime; ``stored``: their store records (for who
    changed them and when).
    """
    defaults = model.Settings()
    sections: dict[str, list[dict[str, Any]]] = {}
    for section, dotted, field in fields():
        kind, choices = type_of(field)
        value = value_of(current, dotted)
        default = value_of(defaults, dotted)
        record = stored.get(dotted)
        sections.setdefault(section, []).append({
            "key": dotted,
            "description": field.description or "",
            "type": kind,
            "choices": choices,
            "secret": is_secret(dotted),
            "default": shown(dotted, default),
            "value": shown(dotted, value),
            "source": origin_name(dotted, overridden=dotted in overrides, origins=origins),
            "differs": value != default,
            "editable": applying.read_only(dotted) is None,
            "restart_required": applying.restart_required(dotted),
            "updated_at": record.updated_at.isoformat() if record else None,
            "updated_by": record.updated_by if record else None,
        })
    return [{"name": name, "settings": rows} for name, rows in sections.items()]


def diff(described: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The settings whose value differs from the default (the ``GET /settings/diff`` body)."""
    return [
        {key: row[key] for key in ("key", "default", "value", "source", "restart_required")}
        for section in described
        for row in section["settings"]
        if row["differs"]
    ]
