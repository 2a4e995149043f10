"""OpenAI messages → the single upstream ``message`` string plus attachments.

The shape the grok.com page and the original project (v1.5.0, protocol doc §3.3) send: the
last user message exactly as the user wrote it, every other message prefixed by its role
(``<role>: <text>``), blocks joined by blank lines. A one-message chat therefore sends just
the user's text: role prefixes on the user's own words were among the triggers of the
upstream's anti-bot rejections. Tool results become ``[tool result for <id>]:\n<text>``, an
assistant's earlier tool calls are re-encoded in the tool XML, and the tool instructions (if
any) go first as a ``system`` block. Images and files are collected as ``AttachmentRef``
values for upload; a prompt made only of attachments gets a short instruction so the
upstream has text to answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from .. import errors
from . import request as req
from . import tool_prompt

ATTACHMENT_ONLY_PROMPT = "Refer to the following content:"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AttachmentRef:
    """Where an attachment comes from: a URL (http(s) or data URI) or inline base64."""

    kind: Literal["image", "file"]
    source: str
    filename: str = ""
    param: str = ""
    """The request path of the part, for error messages (``messages.0.content.1``)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Prompt:
    text: str
    attachments: tuple[AttachmentRef, ...]


def flatten(request: req.ChatCompletionRequest) -> Prompt:
    blocks: list[str] = []
    attachments: list[AttachmentRef] = []
    block = tool_prompt.tool_block(
        tools=request.tools or (),
        tool_choice=request.tool_choice,
        parallel=request.parallel_tool_calls is not False,
    )
    if block:
        blocks.append(f"system: {block}")
    last_user = _last_user_index(request.messages)
    for index, message in enumerate(request.messages):
        blocks.extend(
            _message_blocks(
                message, index=index, attachments=attachments, as_typed=index == last_user
            )
        )
    text = "\n\n".join(blocks)
    if not text.strip() and attachments:
        text = ATTACHMENT_ONLY_PROMPT
    return Prompt(text=text, attachments=tuple(attachments))


def _last_user_index(messages: Sequence[req.Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return -1


def _message_blocks(
    message: req.Message, *, index: int, attachments: list[AttachmentRef], as_typed: bool
) -> list[str]:
    texts = _texts(message.content, index=index, attachments=attachments)
    if message.role == "tool":
        call_id = message.tool_call_id or message.name or "unknown"
        return [f"[tool result for {call_id}]:\n" + "\n".join(texts)]
    if as_typed:
        return [text for text in texts if text]
    blocks = [f"{message.role}: {text}" for text in texts if text]
    if message.role == "assistant" and message.tool_calls:
        blocks.append(f"assistant: {tool_prompt.encode_calls(message.tool_calls)}")
    return blocks


def _texts(
    content: str | Sequence[req.TextPart | req.ImagePart | req.FilePart] | None,
    *,
    index: int,
    attachments: list[AttachmentRef],
) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for part_index, part in enumerate(content):
        param = f"messages.{index}.content.{part_index}"
        if isinstance(part, req.TextPart):
            texts.append(part.text)
        elif isinstance(part, req.ImagePart):
            attachments.append(AttachmentRef(kind="image", source=part.image_url.url, param=param))
        else:
            attachments.append(_file(part, param=param))
    return texts


def _file(part: req.FilePart, *, param: str) -> AttachmentRef:
    data = part.file.file_data
    if not data:
        raise errors.InvalidRequest(
            "file parts need file_data (uploaded file ids are not supported)",
            param=f"{param}.file.file_data",
        )
    return AttachmentRef(
        kind="file", source=data, filename=part.file.filename or "file", param=param
    )
