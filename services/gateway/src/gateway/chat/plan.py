"""A validated chat request turned into everything the upstream call needs (``Plan``).

Resolves the model against the catalogue, flattens the messages, and fixes the per-request
choices (stream, reasoning display, usage in the stream, declared tools) from the request
and the current settings, so nothing downstream reads settings again.
"""

from __future__ import annotations

import dataclasses
import secrets
import time

from grok2api_settings import sections
from grok_web import catalogue

from .. import errors
from . import flatten, translate
from . import request as req


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    completion_id: str
    created: int
    model: str
    cost: int
    prompt: flatten.Prompt
    stream: bool
    include_usage: bool
    reasoning: translate.ReasoningMode
    declared_tools: frozenset[str]
    filter_tags: tuple[str, ...]
    temporary: bool
    disable_memory: bool
    keepalive: float


def plan(*, body: req.ChatCompletionRequest, chat: sections.ChatSettings) -> Plan:
    """``chat`` is the current ``settings.chat`` section."""
    spec = catalogue.find(body.model)
    if spec is None:
        raise errors.ModelNotFound(f"The model '{body.model}' does not exist", param="model")
    if spec.kind != "chat":
        raise errors.InvalidRequest(
            f"The model '{body.model}' does not support chat completions", param="model"
        )
    stream = body.stream if body.stream is not None else chat.stream
    tools_enabled = bool(body.tools) and body.tool_choice != "none"
    return Plan(
        completion_id="chatcmpl-" + secrets.token_hex(12),
        created=int(time.time()),
        model=body.model,
        cost=spec.cost,
        prompt=flatten.flatten(body),
        stream=stream,
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
        reasoning=_reasoning(body, chat),
        declared_tools=frozenset(t.function.name for t in body.tools or ())
        if tools_enabled
        else frozenset(),
        filter_tags=tuple(chat.filter_tags),
        temporary=bool(chat.temporary),
        disable_memory=bool(chat.disable_memory),
        keepalive=float(chat.keepalive_seconds),
    )


def _reasoning(
    body: req.ChatCompletionRequest, chat: sections.ChatSettings
) -> translate.ReasoningMode:
    if body.thinking is not None:
        shown = body.thinking == "enabled"
    elif body.reasoning_effort is not None:
        shown = body.reasoning_effort != "none"
    else:
        shown = bool(chat.thinking)
    if not shown:
        return "off"
    return "think_tags" if chat.reasoning_format == "think_tags" else "field"
