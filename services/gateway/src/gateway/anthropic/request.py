"""The Messages request as Anthropic's clients send it, validated.

Unknown top-level parameters (``service_tier``, ``container``, beta fields …) are accepted
and ignored; a malformed known one is an ``errors.InvalidRequest`` naming it, e.g.
``messages.0.content.1.source.data`` or ``max_tokens``. Block types the gateway cannot
serve (server tool results, search results …) are refused the same way rather than dropped.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Literal, TypeVar

import orjson
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from .. import errors

log = logging.getLogger(__name__)

TOOL_NAME = r"^[A-Za-z0-9_.\-]{1,64}$"  # the chat API's rule: both fronts share tool names
MIN_THINKING_BUDGET = 1024  # Anthropic's own lower bound for budget_tokens


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TextBlock(_Lenient):
    type: Literal["text"]
    text: str


class Base64Source(_Lenient):
    type: Literal["base64"]
    media_type: str = Field(min_length=1)
    data: str = Field(min_length=1)


class UrlSource(_Lenient):
    type: Literal["url"]
    url: str = Field(min_length=1)


class PlainTextSource(_Lenient):
    type: Literal["text"]
    data: str
    media_type: str = "text/plain"


class ImageBlock(_Lenient):
    type: Literal["image"]
    source: Annotated[Base64Source | UrlSource, Field(discriminator="type")]


class DocumentBlock(_Lenient):
    type: Literal["document"]
    source: Annotated[Base64Source | UrlSource | PlainTextSource, Field(discriminator="type")]
    title: str | None = None
    context: str | None = None


ResultPart = Annotated[TextBlock | ImageBlock | DocumentBlock, Field(discriminator="type")]


class ToolUseBlock(_Lenient):
    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]


class ToolResultBlock(_Lenient):
    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[ResultPart] = ""
    is_error: bool | None = None


class ThinkingBlock(_Lenient):
    """Earlier reasoning sent back by the client; not repeated to the upstream."""

    type: Literal["thinking", "redacted_thinking"]


Block = Annotated[
    TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock,
    Field(discriminator="type"),
]


class Message(_Lenient):
    # "system" inside messages is not Anthropic's, but agents written for OpenAI send it.
    role: Literal["user", "assistant", "system"]
    content: str | list[Block]


class Tool(_Lenient):
    """A client tool (``type`` absent or ``custom``); Anthropic's server tools (web search,
    bash, text editor …) carry a versioned ``type`` and are accepted and not offered."""

    name: str
    type: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None

    @property
    def is_custom(self) -> bool:
        return self.type in (None, "custom")


class ToolChoice(_Lenient):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Thinking(_Lenient):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = Field(None, ge=MIN_THINKING_BUDGET)


class Metadata(_Lenient):
    user_id: str | None = Field(None, max_length=256)


class MessagesRequest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    system: str | list[TextBlock] | None = None
    stop_sequences: list[Annotated[str, Field(min_length=1)]] | None = None
    stream: bool | None = Field(None, strict=True)
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    metadata: Metadata | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None


class CountTokensRequest(BaseModel):
    """``count_tokens`` takes the Messages body without ``max_tokens`` and output options."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None


def parse(raw: bytes) -> MessagesRequest:
    """Decode and validate a Messages body; raise ``errors.InvalidRequest`` naming the param."""
    request = _validated(MessagesRequest, raw)
    _check_tools(request.tools, request.tool_choice)
    thinking = request.thinking
    if thinking is not None and thinking.type == "enabled":
        if thinking.budget_tokens is None:
            raise errors.InvalidRequest(
                "thinking.budget_tokens is required when thinking is enabled",
                param="thinking.budget_tokens",
            )
        if thinking.budget_tokens >= request.max_tokens:
            raise errors.InvalidRequest(
                "max_tokens must be greater than thinking.budget_tokens",
                param="max_tokens",
            )
    return request


def parse_count(raw: bytes) -> CountTokensRequest:
    request = _validated(CountTokensRequest, raw)
    _check_tools(request.tools, request.tool_choice)
    return request


_Body = TypeVar("_Body", MessagesRequest, CountTokensRequest)


def _validated(model: type[_Body], raw: bytes) -> _Body:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequest("request body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise errors.InvalidRequest("request body must be a JSON object")
    try:
        request = model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None
    if request.model_extra and log.isEnabledFor(logging.DEBUG):
        log.debug("unknown_params_ignored names=%s", ",".join(sorted(request.model_extra)))
    return request


def _check_tools(tools: list[Tool] | None, choice: ToolChoice | None) -> None:
    custom = [tool for tool in tools or () if tool.is_custom]
    for index, tool in enumerate(tools or ()):
        if tool.is_custom and not re.match(TOOL_NAME, tool.name):
            raise errors.InvalidRequest(
                f"tool names must match {TOOL_NAME}", param=f"tools.{index}.name"
            )
    if choice is None:
        return
    if choice.type == "tool":
        if not choice.name:
            raise errors.InvalidRequest("tool_choice.name is required", param="tool_choice.name")
        if choice.name not in {tool.name for tool in custom}:
            raise errors.InvalidRequest(
                f"tool_choice names undeclared tool '{choice.name}'", param="tool_choice.name"
            )
    if choice.type == "any" and not custom:
        raise errors.InvalidRequest("tool_choice 'any' needs tools", param="tool_choice")


_TAGS = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
     "base64", "url"}
)  # fmt: skip


def _invalid(exc: pydantic.ValidationError) -> errors.InvalidRequest:
    # With unions every branch reports; the deepest location is the most specific one.
    first = max(exc.errors(include_url=False), key=lambda error: len(error["loc"]))
    param = ".".join(_field_path(first["loc"])) or None
    return errors.InvalidRequest(f"Invalid value for '{param}': {first['msg']}", param=param)


def _field_path(loc: tuple[int | str, ...]) -> list[str]:
    """The field path without pydantic's union bookkeeping: branch names (``list[...]``,
    ``str``) and the discriminator value it inserts after an index or a ``source``."""
    path: list[str] = []
    previous: int | str | None = None
    for part in loc:
        skip = isinstance(part, str) and (
            "[" in part
            or part == "str"
            or (part in _TAGS and (isinstance(previous, int) or previous == "source"))
        )
        previous = part
        if not skip:
            path.append(str(part))
    return path
