"""Tool calls the model made → Anthropic ``tool_use`` inputs, checked against the schema.

``tool_parse`` already keeps only declared names and repairs the JSON it can. A
``tool_use`` block needs an object as ``input``: a call whose arguments are not a JSON
object, lack a property the schema requires, or give a top-level property a value of the
wrong JSON type is not passed on as a call (a client would run its tool with it). It is
shown as text instead, so the client sees what the model wrote, and logged.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ..chat import tool_parse

log = logging.getLogger(__name__)

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToolUse:
    id: str
    name: str
    input: dict[str, Any]
    json: str
    """``input`` as the compact JSON the stream sends in ``input_json_delta``."""


def checked(
    calls: Sequence[tool_parse.ParsedCall], *, schemas: Mapping[str, Mapping[str, Any]]
) -> tuple[list[ToolUse], str]:
    """The calls that fit their schema, and the text of those that did not."""
    uses: list[ToolUse] = []
    refused: list[str] = []
    for call in calls:
        problem, value = _check(call.arguments, schemas.get(call.name, {}))
        if problem:
            log.warning("tool_call_refused name=%s reason=%s", call.name, problem)
            refused.append(f"{call.name} {call.arguments}")
            continue
        uses.append(
            ToolUse(
                id="toolu_" + secrets.token_hex(12),
                name=call.name,
                input=value,
                json=orjson.dumps(value).decode(),
            )
        )
    return uses, "\n".join(refused)


def _check(arguments: str, schema: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return "arguments are not JSON", {}
    if not isinstance(value, dict):
        return "arguments are not a JSON object", {}
    missing = [key for key in schema.get("required", ()) if key not in value]
    if missing:
        return f"missing required {','.join(map(str, missing))}", value
    properties = schema.get("properties") or {}
    for key, item in value.items():
        expected = properties.get(key, {}).get("type") if isinstance(properties, dict) else None
        if not _has_type(item, expected):
            return f"{key} is not of type {expected}", value
    return "", value


def _has_type(item: Any, expected: object) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    if not isinstance(names, list):
        return True  # no type declared (or a form this check does not read): accepted
    for name in names:
        kinds = _JSON_TYPES.get(name) if isinstance(name, str) else None
        if kinds is None:
            return True
        if isinstance(item, bool) and name not in ("boolean",):
            continue  # JSON true is not a number
        if isinstance(item, kinds):
            return True
        if name == "integer" and isinstance(item, float) and item.is_integer():
            return True
    return False
