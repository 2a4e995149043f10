"""Client function tools by prompt emulation (grok.com has no native client tools).

The model is told to answer with the v2.x XML convention::

    <tool_calls><tool_call><tool_name>NAME</tool_name>
    <parameters>{"k": "v"}</parameters></tool_call></tool_calls>

``tool_block`` builds the instructions that are injected as a ``system`` block;
``encode_calls`` writes an assistant turn's earlier calls in the same form so history reads
consistently on the next turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from . import request as req


def tool_block(
    *,
    tools: Sequence[req.Tool],
    tool_choice: str | req.NamedToolChoice | None,
    parallel: bool,
) -> str:
    """Instructions listing the tools and how to call them; '' when no tool may be called."""
    if not tools or tool_choice == "none":
        return ""
    lines = ["# Tools", "", "You can call these functions:", ""]
    for tool in tools:
        fn = tool.function
        lines.append(f"## {fn.name}")
        if fn.description:
            lines.append(fn.description)
        schema = orjson.dumps(fn.parameters or {"type": "object", "properties": {}}).decode()
        lines.append(f"Parameters (JSON schema): {schema}")
        lines.append("")
    lines += [
        "To call functions, reply with ONLY this XML and nothing else (no prose, no code fences):",
        "<tool_calls><tool_call><tool_name>NAME</tool_name>"
        '<parameters>{"arg": "value"}</parameters></tool_call></tool_calls>',
        "The parameters are one line of JSON matching the schema.",
        _multiplicity(parallel),
        _when(tool_choice),
        "Results come back as '[tool result for <id>]' messages; then continue the task.",
    ]
    return "\n".join(lines)


def _multiplicity(parallel: bool) -> str:
    if parallel:
        return "You may put several <tool_call> elements inside <tool_calls>."
    return "Put exactly one <tool_call> inside <tool_calls>."


def _when(tool_choice: str | req.NamedToolChoice | None) -> str:
    if isinstance(tool_choice, req.NamedToolChoice):
        return f"WHEN TO CALL: you MUST call the function {tool_choice.function.name} now."
    if tool_choice == "required":
        return "WHEN TO CALL: you MUST call at least one function now."
    return "WHEN TO CALL: call a function when it helps; otherwise answer in plain text."


def encode_calls(calls: Sequence[req.ToolCall]) -> str:
    """An assistant turn's tool calls in the XML convention the model was taught."""
    parts = ["<tool_calls>"]
    for call in calls:
        parts.append(
            f"<tool_call><tool_name>{call.function.name}</tool_name>"
            f"<parameters>{_arguments_json(call.function.arguments)}</parameters></tool_call>"
        )
    parts.append("</tool_calls>")
    return "".join(parts)


def _arguments_json(arguments: str | dict[str, Any]) -> str:
    if isinstance(arguments, dict):
        return orjson.dumps(arguments).decode()
    return arguments.strip() or "{}"
