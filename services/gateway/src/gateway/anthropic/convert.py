"""An Anthropic Messages request → the chat API's request and ``Plan``.

The Messages front adds no second way to prompt the upstream: its body becomes the chat
request the chat path already flattens (system first, tool results as ``tool`` messages,
earlier ``tool_use`` blocks as the assistant's tool calls, images and documents as
attachments), and ``plan.plan`` resolves the model and the tools as it does for chat.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import secrets
from collections.abc import Sequence

from grok2api_settings import sections

from .. import errors
from ..chat import plan
from ..chat import request as chat_req
from . import request as req

ERROR_RESULT_NOTE = "(the tool reported an error)"


def plan_for(body: req.MessagesRequest, *, chat: sections.ChatSettings) -> plan.Plan:
    """The chat ``Plan`` of a Messages request (``chat``: the current ``settings.chat``).
    Reasoning is shown, as thinking blocks, only when the request enables ``thinking``."""
    planned = plan.plan(body=chat_request(body), chat=chat)
    return dataclasses.replace(
        planned,
        completion_id="msg_" + secrets.token_hex(12),
        stream=bool(body.stream),
        include_usage=False,
        reasoning="field" if thinks(body) else "off",
    )


def thinks(body: req.MessagesRequest | req.CountTokensRequest) -> bool:
    return body.thinking is not None and body.thinking.type != "disabled"


def chat_request(
    body: req.MessagesRequest | req.CountTokensRequest,
) -> chat_req.ChatCompletionRequest:
    choice = body.tool_choice
    tools = [_tool(tool) for tool in body.tools or () if tool.is_custom]
    messages = _messages(body)
    if not messages:  # every message had an empty content list
        raise errors.InvalidRequest("messages: no message has any content", param="messages")
    return chat_req.converted(
        model=body.model,
        messages=messages,
        tools=tools or None,
        tool_choice=_tool_choice(choice) if tools else None,
        parallel_tool_calls=False if choice and choice.disable_parallel_tool_use else None,
        thinking="enabled" if thinks(body) else "disabled",
    )


def tool_schemas(body: req.MessagesRequest) -> dict[str, dict[str, object]]:
    """The declared client tools' input schemas by name (for checking the calls made)."""
    return {t.name: t.input_schema or {} for t in body.tools or () if t.is_custom}


def _tool(tool: req.Tool) -> chat_req.Tool:
    return chat_req.Tool(
        type="function",
        function=chat_req.FunctionDef(
            name=tool.name, description=tool.description, parameters=tool.input_schema
        ),
    )


def _tool_choice(choice: req.ToolChoice | None) -> str | chat_req.NamedToolChoice | None:
    if choice is None:
        return None
    if choice.type == "tool":
        return chat_req.NamedToolChoice(
            type="function", function=chat_req.NamedFunction(name=choice.name or "")
        )
    return {"auto": "auto", "any": "required", "none": "none"}[choice.type]


def _messages(body: req.MessagesRequest | req.CountTokensRequest) -> list[chat_req.Message]:
    out: list[chat_req.Message] = []
    system = _system(body.system)
    if system:
        out.append(chat_req.Message(role="system", content=system))
    for index, message in enumerate(body.messages):
        if isinstance(message.content, str):
            out.append(chat_req.Message(role=message.role, content=message.content))
        elif message.role == "assistant":
            out.append(_assistant(message.content))
        else:
            out.extend(_user(message, index=index))
    return out


def _system(system: str | Sequence[req.TextBlock] | None) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    return "\n\n".join(block.text for block in system if block.text)


def _assistant(blocks: Sequence[object]) -> chat_req.Message:
    texts = [block.text for block in blocks if isinstance(block, req.TextBlock)]
    calls = [
        chat_req.ToolCall(
            id=block.id, function=chat_req.FunctionCall(name=block.name, arguments=block.input)
        )
        for block in blocks
        if isinstance(block, req.ToolUseBlock)
    ]
    return chat_req.Message(
        role="assistant", content="\n\n".join(texts) or None, tool_calls=calls or None
    )


def _user(message: req.Message, *, index: int) -> list[chat_req.Message]:
    """Tool results become ``tool`` messages (Anthropic puts them first in a user turn);
    the rest of the turn stays one message of the same role."""
    out: list[chat_req.Message] = []
    parts: list[chat_req.TextPart | chat_req.ImagePart | chat_req.FilePart] = []
    for position, block in enumerate(message.content):
        param = f"messages.{index}.content.{position}"
        if isinstance(block, req.ToolResultBlock):
            out.append(_tool_result(block, param=param))
        elif isinstance(block, req.ToolUseBlock):
            raise errors.InvalidRequest(
                "tool_use blocks belong in assistant messages", param=param
            )
        else:
            parts.extend(_parts(block, param=param))
    if parts:
        out.append(chat_req.Message(role=message.role, content=parts))
    return out


def _tool_result(block: req.ToolResultBlock, *, param: str) -> chat_req.Message:
    content = block.content
    parts: list[chat_req.TextPart | chat_req.ImagePart | chat_req.FilePart] = []
    if block.is_error:
        parts.append(chat_req.TextPart(type="text", text=ERROR_RESULT_NOTE))
    if isinstance(content, str):
        parts.append(chat_req.TextPart(type="text", text=content))
    else:
        for position, part in enumerate(content):
            parts.extend(_parts(part, param=f"{param}.content.{position}"))
    return chat_req.Message(role="tool", tool_call_id=block.tool_use_id, content=parts)


def _parts(
    block: object, *, param: str
) -> list[chat_req.TextPart | chat_req.ImagePart | chat_req.FilePart]:
    if isinstance(block, req.TextBlock):
        return [chat_req.TextPart(type="text", text=block.text)]
    if isinstance(block, req.ImageBlock):
        url = chat_req.ImageUrl(url=_url(block.source))
        return [chat_req.ImagePart(type="image_url", image_url=url)]
    if isinstance(block, req.DocumentBlock):
        return [_document(block, param=param)]
    return []  # earlier thinking: the upstream does not need it again


def _url(source: req.Base64Source | req.UrlSource) -> str:
    if isinstance(source, req.UrlSource):
        return source.url
    return f"data:{source.media_type};base64,{source.data}"


def _document(
    block: req.DocumentBlock, *, param: str
) -> chat_req.TextPart | chat_req.FilePart:
    source = block.source
    if isinstance(source, req.PlainTextSource):
        heading = f"{block.title}\n\n" if block.title else ""
        return chat_req.TextPart(type="text", text=heading + source.data)
    if isinstance(source, req.UrlSource):
        raise errors.InvalidRequest(
            "document url sources are not supported: send the document as a base64 source",
            param=f"{param}.source.url",
        )
    extension = mimetypes.guess_extension(source.media_type) or ""
    name = block.title or f"document{extension}"
    return chat_req.FilePart(
        type="file",
        file=chat_req.FileRef(file_data=_url(source), filename=name),
    )
