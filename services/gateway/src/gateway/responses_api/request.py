"""A Responses API request as clients send it (OpenAI's shape), validated.

``input`` is a string or a list of items: messages (``type`` may be left out, as the SDK
allows), ``function_call`` and ``function_call_output``; earlier ``reasoning`` items are
accepted and not needed again. Unknown top-level parameters are ignored; a malformed
known one is an ``errors.InvalidRequest`` naming it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from .. import errors

HOSTED_SEARCH = frozenset(
    {"web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"}
)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class InputText(_Lenient):
    type: Literal["input_text", "output_text", "refusal"]
    text: str = ""
    refusal: str = ""


class InputImage(_Lenient):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None


class InputFile(_Lenient):
    type: Literal["input_file"]
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


Part = Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]


class MessageItem(_Lenient):
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Part]


class FunctionCallItem(_Lenient):
    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str = ""


class FunctionCallOutputItem(_Lenient):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: str | list[Part]


class ReasoningItem(_Lenient):
    type: Literal["reasoning"]


Item = Annotated[
    MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem,
    Field(discriminator="type"),
]


class Tool(_Lenient):
    type: str
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None

    @property
    def is_function(self) -> bool:
        return self.type == "function"


class NamedChoice(_Lenient):
    type: str
    name: str | None = None


class Reasoning(_Lenient):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class TextFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")


class TextOptions(_Lenient):
    format: TextFormat = TextFormat()


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    input: str | list[Item] = Field(min_length=1)
    instructions: str | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedChoice | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    text: TextOptions | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    metadata: dict[str, str] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    store: bool = True
    background: bool = False
    stream: bool = Field(False, strict=True)
    previous_response_id: str | None = None

    @property
    def functions(self) -> list[Tool]:
        return [tool for tool in self.tools or () if tool.is_function]


def parse(raw: bytes) -> ResponsesRequest:
    """Decode and validate a body; raise ``errors.InvalidRequest`` naming the param."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequest("request body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise errors.InvalidRequest("request body must be a JSON object")
    if isinstance(data.get("input"), list):
        data["input"] = [_typed(item) for item in data["input"]]
    try:
        request = ResponsesRequest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None
    _check_tools(request)
    return request


def _typed(item: object) -> object:
    """A message item may omit its ``type`` (``{"role": "user", "content": "hi"}``)."""
    if isinstance(item, dict) and "type" not in item and "role" in item:
        return {**item, "type": "message"}
    return item


def _invalid(exc: pydantic.ValidationError) -> errors.InvalidRequest:
    first = max(exc.errors(include_url=False), key=lambda error: len(error["loc"]))
    param = ".".join(_path(first["loc"])) or None
    return errors.InvalidRequest(f"Invalid value for '{param}': {first['msg']}", param=param)


_BRANCHES = frozenset(
    {
        "str",
        "NamedChoice",
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "input_text",
        "output_text",
        "refusal",
        "input_image",
        "input_file",
    }
)


def _path(loc: tuple[int | str, ...]) -> list[str]:
    """The field path without pydantic's union bookkeeping (branch and tag names)."""
    return [
        str(part)
        for part in loc
        if not (isinstance(part, str) and ("[" in part or part in _BRANCHES))
    ]


def _check_tools(request: ResponsesRequest) -> None:
    for index, tool in enumerate(request.tools or ()):
        if tool.is_function and not tool.name:
            raise errors.InvalidRequest("a function tool needs a name", param=f"tools.{index}.name")
        if not tool.is_function and tool.type not in HOSTED_SEARCH:
            raise errors.InvalidRequest(
                f"tool type '{tool.type}' is not supported: use function tools or web_search",
                param=f"tools.{index}.type",
            )
    choice = request.tool_choice
    declared = {tool.name for tool in request.functions}
    if isinstance(choice, NamedChoice) and choice.type == "function":
        if choice.name not in declared:
            raise errors.InvalidRequest(
                f"tool_choice names undeclared function '{choice.name}'", param="tool_choice"
            )
    if choice == "required" and not declared:
        raise errors.InvalidRequest(
            "tool_choice 'required' needs function tools", param="tool_choice"
        )
