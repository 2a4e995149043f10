"""Tool-call parsing, the streaming sieve and the tag filter, piece by piece."""

from __future__ import annotations

import json

import pytest
from gateway.chat import tag_filter, tool_parse, tool_sieve

DECLARED = {"search", "add"}


@pytest.mark.parametrize(
    "text",
    [
        '<tool_calls><tool_call><tool_name>search</tool_name><parameters>{"q": "x"}'
        "</parameters></tool_call></tool_calls>",
        'I will search.\n```xml\n<tool_calls><tool_call><tool_name>search</tool_name>'
        '<parameters>{"q": "x",}</parameters></tool_call></tool_calls>\n```\nDone.',
        '{"tool_calls": [{"name": "search", "arguments": {"q": "x"}}]}',
        '```json\n[{"name": "search", "input": {"q": "x"}}]\n```',
        '<function_call><name>search</name><arguments>{"q": "x"}</arguments></function_call>',
        '<invoke name="search"><parameter name="q">x</parameter></invoke>',
        '<tool_call>{"name": "search", "arguments": {"q": "x"}}</tool_call>',
    ],
)
def test_parses_every_accepted_form(text: str) -> None:
    calls = tool_parse.parse(text, declared=DECLARED)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("search", {"q": "x"})]


def test_parses_parallel_calls_in_order() -> None:
    text = (
        "<tool_calls><tool_call><tool_name>add</tool_name><parameters>{\"a\": 1}</parameters>"
        "</tool_call><tool_call><tool_name>search</tool_name><parameters>{}</parameters>"
        "</tool_call></tool_calls>"
    )
    assert [c.name for c in tool_parse.parse(text, declared=DECLARED)] == ["add", "search"]


def test_drops_undeclared_names() -> None:
    text = "<tool_calls><tool_call><tool_name>shell</tool_name></tool_call></tool_calls>"
    assert tool_parse.parse(text, declared=DECLARED) == []


def test_sieve_passes_plain_text_through_at_once() -> None:
    sieve = tool_sieve.ToolSieve(declared=DECLARED)
    assert sieve.feed("Hello, ") == "Hello, "
    assert sieve.feed("world") == "world"
    assert sieve.finish() == ("", [])


def test_sieve_holds_a_possible_marker_split_across_pieces() -> None:
    sieve = tool_sieve.ToolSieve(declared=DECLARED)
    out = sieve.feed("Sure <too")
    out += sieve.feed('l_calls><tool_call><tool_name>search</tool_name><parameters>{"q":1}')
    out += sieve.feed("</parameters></tool_call></tool_calls>")
    rest, calls = sieve.finish()
    assert out == "Sure " and rest == ""
    assert calls[0].name == "search"


def test_sieve_releases_a_false_alarm() -> None:
    sieve = tool_sieve.ToolSieve(declared=DECLARED)
    out = sieve.feed("a <b>bold</b> and <tool_call> nothing")
    rest, calls = sieve.finish()
    assert out + rest == "a <b>bold</b> and <tool_call> nothing"
    assert calls == []


def test_sieve_drops_the_code_fence_around_a_call() -> None:
    sieve = tool_sieve.ToolSieve(declared=DECLARED)
    out = sieve.feed("ok\n```xml\n")
    out += sieve.feed("<tool_calls><tool_call><tool_name>add</tool_name></tool_call></tool_calls>")
    out += sieve.feed("\n```")
    _, calls = sieve.finish()
    assert out == "ok\n" and calls[0].name == "add"


def test_tag_filter_strips_blocks_split_across_pieces() -> None:
    tags = tag_filter.TagFilter(tags=["grok:render", "xaiartifact"])
    pieces = ["keep <grok:ren", 'der id="1">drop', " me</grok:re", "nder> this", " <xaiartifact/>!"]
    assert "".join(tags.feed(p) for p in pieces) + tags.flush() == "keep  this !"


def test_tag_filter_keeps_other_markup() -> None:
    tags = tag_filter.TagFilter(tags=["grok:render"])
    assert tags.feed("a < b and <em>x</em> <grok") + tags.flush() == "a < b and <em>x</em> <grok"
