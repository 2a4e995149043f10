"""A Responses request (and the stored history it continues) → the chat request and ``Plan``.

Like the Messages front, this adds no second way to prompt the upstream: ``input`` items
become chat messages (``function_call`` items the assistant's tool calls,
``function_call_output`` items ``tool`` messages, images and files attachments), the
previous response's history goes first and ``instructions`` on top, and ``plan.plan``
resolves the model and the tools as it does for chat. The upstream conversation is not
reused: the history travels in the prompt, so any account on any replica can answer.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from grok2api_settings import sections

from .. import errors
from ..chat import plan
from ..chat import request as chat_req
from . import request as req

JSON_OBJECT_NOTE = "Answer with one JSON object only, no prose and no code fence."
ChatPart = chat_req.TextPart | chat_req.ImagePart | chat_req.FilePart


@dataclasses.dataclass(frozen=True, kw_only=True)
class Converted:
    plan: plan.Plan
    history: list[dict[str, Any]]
    """The chat messages of the history and this input (what the next turn continues)."""
    input_items: list[dict[str, Any]]
    """This request's input items as the API lists them (each with an id)."""


def convert(
    body: req.ResponsesRequest, *, history: Sequence[dict[str, Any]], chat: sections.ChatSettings
) -> Converted:
    """``history``: the stored chat messages of the previous response (or none);
    ``chat``: the current ``settings.chat``."""
    earlier = [chat_req.Message.model_validate(message) for message in history]
    current = messages_of(body)
    top = _instructions(body)
    functions = body.functions
    tools = [_tool(tool) for tool in functions]
    messages = [*top, *earlier, *current]
    if not messages:  # the input held only items that are not messages (reasoning, …)
        raise errors.InvalidRequest("input: no message to answer", param="input")
    chat_body = chat_req.converted(
        model=body.model,
        messages=messages,
        tools=tools or None,
        tool_choice=_tool_choice(body.tool_choice) if tools else None,
        parallel_tool_calls=body.parallel_tool_calls,
        thinking="enabled" if summarises(body) else "disabled",
    )
    planned = plan.plan(body=chat_body, chat=chat)
    planned = dataclasses.replace(
        planned,
        completion_id="resp_" + secrets.token_hex(16),
        stream=body.stream,
        include_usage=False,
        reasoning="field" if summarises(body) else "off",
    )
    return Converted(
        plan=planned,
        history=[m.model_dump(exclude_none=True) for m in [*earlier, *current]],
        input_items=input_items(body),
    )


def summarises(body: req.ResponsesRequest) -> bool:
    """Reasoning is shown (as a summary) only when the request asks for a summary."""
    reasoning = body.reasoning
    return reasoning is not None and reasoning.summary is not None and reasoning.effort != "none"


def tool_schemas(body: req.ResponsesRequest) -> dict[str, dict[str, Any]]:
    return {tool.name or "": tool.parameters or {} for tool in body.functions}


def input_items(body: req.ResponsesRequest) -> list[dict[str, Any]]:
    items = body.input
    if isinstance(items, str):
        items = [req.MessageItem(role="user", content=items)]
    out = []
    for item in items:
        if isinstance(item, req.ReasoningItem):
            continue
        listed = item.model_dump(exclude_none=True, by_alias=True)
        if isinstance(item, req.MessageItem):
            content = item.content
            if isinstance(content, str):
                listed["content"] = [{"type": "input_text", "text": content}]
            listed["status"] = "completed"
        prefix = {"message": "msg_", "function_call": "fc_"}.get(item.type, "fco_")
        out.append({"id": prefix + secrets.token_hex(12), **listed})
    return out


def messages_of(body: req.ResponsesRequest) -> list[chat_req.Message]:
    if isinstance(body.input, str):
        return [chat_req.Message(role="user", content=body.input)]
    out: list[chat_req.Message] = []
    for item in body.input:
        if isinstance(item, req.MessageItem):
            out.append(_message(item))
        elif isinstance(item, req.FunctionCallItem):
            call = chat_req.ToolCall(
                id=item.call_id,
                function=chat_req.FunctionCall(name=item.name, arguments=item.arguments),
            )
            if out and out[-1].role == "assistant" and out[-1].tool_calls:
                previous = out.pop()  # parallel calls: one assistant turn
                call_list = [*(previous.tool_calls or ()), call]
                out.append(previous.model_copy(update={"tool_calls": call_list}))
            else:
                out.append(chat_req.Message(role="assistant", tool_calls=[call]))
        elif isinstance(item, req.FunctionCallOutputItem):
            output = item.output
            content = output if isinstance(output, str) else _parts(output)
            out.append(chat_req.Message(role="tool", tool_call_id=item.call_id, content=content))
    return out


def _message(item: req.MessageItem) -> chat_req.Message:
    if isinstance(item.content, str):
        return chat_req.Message(role=item.role, content=item.content)
    return chat_req.Message(role=item.role, content=_parts(item.content))


def _parts(parts: Sequence[object]) -> list[ChatPart]:
    out: list[ChatPart] = []
    for part in parts:
        if isinstance(part, req.InputText):
            out.append(chat_req.TextPart(type="text", text=part.text or part.refusal))
        elif isinstance(part, req.InputImage):
            if part.image_url:
                url = chat_req.ImageUrl(url=part.image_url)
                out.append(chat_req.ImagePart(type="image_url", image_url=url))
            else:  # the chat path names what it cannot take (uploaded file ids)
                ref = chat_req.FileRef(file_id=part.file_id)
                out.append(chat_req.FilePart(type="file", file=ref))
        elif isinstance(part, req.InputFile):
            ref = chat_req.FileRef(
                file_data=part.file_data, filename=part.filename, file_id=part.file_id
            )
            out.append(chat_req.FilePart(type="file", file=ref))
    return out


def _instructions(body: req.ResponsesRequest) -> list[chat_req.Message]:
    notes = [body.instructions] if body.instructions else []
    fmt = body.text.format if body.text else None
    if fmt is not None and fmt.type == "json_object":
        notes.append(JSON_OBJECT_NOTE)
    elif fmt is not None and fmt.type == "json_schema":
        schema = orjson.dumps(fmt.schema_ or {}).decode()
        notes.append(f"{JSON_OBJECT_NOTE} It must match this JSON schema: {schema}")
    return [chat_req.Message(role="system", content="\n\n".join(notes))] if notes else []


def _tool(tool: req.Tool) -> chat_req.Tool:
    return chat_req.Tool(
        type="function",
        function=chat_req.FunctionDef(
            name=tool.name or "", description=tool.description, parameters=tool.parameters
        ),
    )


def _tool_choice(choice: object) -> str | chat_req.NamedToolChoice | None:
    if isinstance(choice, req.NamedChoice):
        if choice.type != "function":
            return "auto"  # a hosted tool named: the upstream searches as it sees fit
        return chat_req.NamedToolChoice(
            type="function", function=chat_req.NamedFunction(name=choice.name or "")
        )
    return choice if isinstance(choice, str) else None
