"""Find emulated tool calls in model text, tolerating what models actually write.

Accepted forms, tried in this order (protocol doc §19):

1. ``<tool_calls><tool_call><tool_name>N</tool_name><parameters>{…}</parameters></tool_call>…``
   (also ``<name>``/``<arguments>`` inside, and a bare ``<tool_call>`` without the wrapper,
   whose body may be JSON ``{"name": …, "arguments": …}``);
2. a JSON envelope ``{"tool_calls": [{"name": …, "arguments"|"parameters"|"input": …}]}``;
3. a JSON array ``[{"name": …, "arguments"|"input": …}]``;
4. ``<function_call><name>N</name><arguments>{…}</arguments></function_call>``;
5. ``<invoke name="N"><parameter name="k">v</parameter>…</invoke>`` (or a JSON body).

Prose and code fences around the calls are ignored; JSON is repaired (fences stripped,
outermost braces taken, trailing commas removed). Only declared tool names are returned.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterator
from typing import Any

import orjson

_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)
_TAG = {
    name: re.compile(rf"<{name}>(.*?)</{name}>", re.S)
    for name in ("tool_name", "name", "parameters", "arguments")
}
_FUNCTION_CALL = re.compile(r"<function_call>(.*?)</function_call>", re.S)
_INVOKE = re.compile(r"<invoke\s+name=[\"']([^\"']+)[\"']\s*>(.*?)</invoke>", re.S)
_PARAMETER = re.compile(r"<parameter\s+name=[\"']([^\"']+)[\"']\s*>(.*?)</parameter>", re.S)
_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*|```")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParsedCall:
    name: str
    arguments: str
    """The arguments as a compact JSON object string (OpenAI's ``function.arguments``)."""


def parse(text: str, *, declared: Collection[str]) -> list[ParsedCall]:
    """Every declared tool call found in ``text`` by the first form that yields any."""
    for finder in (_xml_calls, _json_envelope, _json_array, _function_calls, _invokes):
        calls = [call for call in finder(text) if call.name in declared]
        if calls:
            return calls
    return []


def _xml_calls(text: str) -> Iterator[ParsedCall]:
    for body in _TOOL_CALL.findall(text):
        name = _first(body, "tool_name") or _first(body, "name")
        if name is not None:
            args = _first(body, "parameters") or _first(body, "arguments") or "{}"
            yield ParsedCall(name=name.strip(), arguments=_normalise(args))
            continue
        obj = _loads(body)
        if isinstance(obj, dict):
            call = _from_mapping(obj)
            if call is not None:
                yield call


def _json_envelope(text: str) -> Iterator[ParsedCall]:
    if '"tool_calls"' not in text:
        return
    obj = _loads(text)
    if isinstance(obj, dict) and isinstance(obj.get("tool_calls"), list):
        yield from _from_list(obj["tool_calls"])


def _json_array(text: str) -> Iterator[ParsedCall]:
    stripped = _FENCE.sub("", text).strip()
    if not stripped.startswith("["):
        return
    obj = _loads(stripped, opener="[", closer="]")
    if isinstance(obj, list):
        yield from _from_list(obj)


def _function_calls(text: str) -> Iterator[ParsedCall]:
    for body in _FUNCTION_CALL.findall(text):
        name = _first(body, "name")
        if name:
            yield ParsedCall(name=name.strip(), arguments=_normalise(_first(body, "arguments")))


def _invokes(text: str) -> Iterator[ParsedCall]:
    for name, body in _INVOKE.findall(text):
        params = _PARAMETER.findall(body)
        if params:
            args = {key: _scalar(value) for key, value in params}
            yield ParsedCall(name=name.strip(), arguments=orjson.dumps(args).decode())
        else:
            yield ParsedCall(name=name.strip(), arguments=_normalise(body))


def _from_list(items: list[Any]) -> Iterator[ParsedCall]:
    for item in items:
        if isinstance(item, dict):
            call = _from_mapping(item)
            if call is not None:
                yield call


def _from_mapping(item: dict[str, Any]) -> ParsedCall | None:
    nested = item.get("function")
    fn: dict[str, Any] = nested if isinstance(nested, dict) else item
    name = fn.get("name") or fn.get("tool_name")
    if not isinstance(name, str):
        return None
    for key in ("arguments", "parameters", "input", "args"):
        if key in fn:
            return ParsedCall(name=name, arguments=_normalise(fn[key]))
    return ParsedCall(name=name, arguments="{}")


def _first(body: str, tag: str) -> str | None:
    match = _TAG[tag].search(body)
    return match.group(1) if match else None


def _normalise(args: Any) -> str:
    """Arguments as a compact JSON object string; unparseable text is kept verbatim."""
    if args is None:
        return "{}"
    if isinstance(args, dict):
        return orjson.dumps(args).decode()
    if not isinstance(args, str):
        return orjson.dumps(args).decode()
    obj = _loads(args)
    if isinstance(obj, dict):
        return orjson.dumps(obj).decode()
    stripped = args.strip()
    return stripped or "{}"


def _loads(text: str, *, opener: str = "{", closer: str = "}") -> Any:
    """Parse JSON leniently: strip fences, keep the outermost brackets, drop trailing commas."""
    cleaned = _FENCE.sub("", text).strip()
    start, end = cleaned.find(opener), cleaned.rfind(closer)
    if start < 0 or end <= start:
        return None
    candidate = cleaned[start : end + 1]
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            return orjson.loads(attempt)
        except orjson.JSONDecodeError:
            continue
    return None


def _scalar(value: str) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.strip()
