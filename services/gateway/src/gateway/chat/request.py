"""The chat completion request as clients send it (OpenAI's shape), validated.

Unknown top-level parameters are accepted and ignored (the caller logs their names at
debug); a malformed known one is rejected with ``errors.InvalidRequest`` naming it, e.g.
``messages.0.content.1.image_url.url``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import orjson
import pydantic
from grok_web import catalogue
from pydantic import BaseModel, ConfigDict, Field

from .. import errors

log = logging.getLogger(__name__)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TextPart(_Lenient):
    type: Literal["text", "input_text"]
    text: str


class ImageUrl(_Lenient):
    url: str = Field(min_length=1)
    detail: str | None = None


class ImagePart(_Lenient):
    type: Literal["image_url"]
    image_url: ImageUrl


class FileRef(_Lenient):
    file_data: str | None = None
    filename: str | None = None
    file_id: str | None = None


class FilePart(_Lenient):
    type: Literal["file"]
    file: FileRef


ContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]


class FunctionCall(_Lenient):
    name: str
    arguments: str | dict[str, Any] = ""


class ToolCall(_Lenient):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Lenient):
    role: Literal["developer", "system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDef(_Lenient):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: bool | None = Field(None, strict=True)
    stream_options: StreamOptions | None = None
    thinking: Literal["enabled", "disabled"] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = Field(None, strict=True)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1, le=10)  # > 1 for image models only (_check_n)


def parse(raw: bytes) -> ChatCompletionRequest:
    """Decode and validate a request body; raise ``errors.InvalidRequest`` naming the param."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequest("request body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise errors.InvalidRequest("request body must be a JSON object")
    try:
        request = ChatCompletionRequest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None
    if request.model_extra and log.isEnabledFor(logging.DEBUG):
        log.debug("unknown_params_ignored names=%s", ",".join(sorted(request.model_extra)))
    _check_tool_choice(request)
    _check_n(request)
    return request


def converted(**fields: Any) -> ChatCompletionRequest:
    """A chat request built from another API's body (Anthropic Messages, Responses): what
    that body leaves invalid for chat is the caller's ``InvalidRequest``, as it would be in
    a chat body, never an internal error."""
    try:
        return ChatCompletionRequest(**fields)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: pydantic.ValidationError) -> errors.InvalidRequest:
    # With unions (content: str | list of parts) every branch reports; the deepest location
    # is the most specific one ("messages.0.content.1.image_url.url", not "...content").
    first = max(exc.errors(include_url=False), key=lambda error: len(error["loc"]))
    param = ".".join(_field_path(first["loc"])) or None
    return errors.InvalidRequest(f"Invalid value for '{param}': {first['msg']}", param=param)


_PART_TAGS = frozenset({"text", "input_text", "image_url", "file"})


def _field_path(loc: tuple[int | str, ...]) -> list[str]:
    """The field path of a pydantic error location, without the union bookkeeping:
    branch names (``list[...]``, ``str``, ``NamedToolChoice``) and the discriminator value
    pydantic inserts after a content part's index."""
    path: list[str] = []
    previous: int | str | None = None
    for part in loc:
        skip = isinstance(part, str) and (
            "[" in part
            or part in ("str", "NamedToolChoice")
            or (part in _PART_TAGS and isinstance(previous, int))
        )
        previous = part
        if not skip:
            path.append(str(part))
    return path


def _check_tool_choice(request: ChatCompletionRequest) -> None:
    choice = request.tool_choice
    if isinstance(choice, NamedToolChoice):
        declared = {tool.function.name for tool in request.tools or ()}
        if choice.function.name not in declared:
            raise errors.InvalidRequest(
                f"tool_choice names undeclared function '{choice.function.name}'",
                param="tool_choice",
            )
    if choice == "required" and not request.tools:
        raise errors.InvalidRequest("tool_choice 'required' needs tools", param="tool_choice")


def _check_n(request: ChatCompletionRequest) -> None:
    """More than one choice only from image models (one job makes ``n`` images)."""
    if (request.n or 1) == 1:
        return
    spec = catalogue.find(request.model)
    if spec is None or spec.kind not in ("image", "image_edit"):
        raise errors.InvalidRequest(
            "Invalid value for 'n': only image models make several; others answer n=1",
            param="n",
        )
