"""Tool-call extraction (``chat.tool_parse``) and the streaming sieve on arbitrary model
text: neither raises; calls written in any accepted form come back as written; text that
holds no call passes through the sieve unchanged however it is chunked."""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson
from fuzz_profile import counted
from gateway.chat import tool_parse, tool_sieve
from hypothesis import given
from hypothesis import strategies as st

NAMES = ["get_weather", "search", "run_code"]
MARKUP = [
    "<tool_calls>", "</tool_calls>", "<tool_call>", "</tool_call>", "<tool_name>",
    "</tool_name>", "<parameters>", "</parameters>", "<name>", "</name>", "<arguments>",
    "</arguments>", "<function_call>", "</function_call>", '<invoke name="search">',
    "</invoke>", '<parameter name="q">', "</parameter>", '{"tool_calls": [', "]}", "```",
    "```json\n", "{", "}", "[", "]", ",", '"name": ', '"arguments": ', *NAMES,
]  # fmt: skip
model_text = st.lists(st.sampled_from(MARKUP) | st.text(max_size=12), max_size=25).map("".join)
plain_text = st.text(alphabet=st.characters(exclude_characters="<{`"), max_size=200)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=10)
)  # fmt: skip
arguments = st.dictionaries(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8), scalars,
    max_size=4,
)  # fmt: skip
calls = st.lists(st.tuples(st.sampled_from(NAMES), arguments), min_size=1, max_size=3)


def render(form: str, found: list[tuple[str, dict[str, Any]]]) -> str:
    if form == "xml":
        body = "".join(
            f"<tool_call><tool_name>{name}</tool_name><parameters>{json.dumps(args)}"
            "</parameters></tool_call>"
            for name, args in found
        )
        return f"<tool_calls>{body}</tool_calls>"
    if form == "envelope":
        items = [{"name": name, "arguments": args} for name, args in found]
        return json.dumps({"tool_calls": items})
    if form == "array":
        return json.dumps([{"name": name, "input": args} for name, args in found])
    return "".join(
        f"<function_call><name>{name}</name><arguments>{json.dumps(args)}</arguments>"
        "</function_call>"
        for name, args in found
    )


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({cut % (len(text) + 1) for cut in cuts})
    edges = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(edges)]


def sieve(pieces: list[str], declared: list[str]) -> tuple[str, list[tool_parse.ParsedCall]]:
    running = tool_sieve.ToolSieve(declared=declared)
    shown = "".join(running.feed(piece) for piece in pieces)
    rest, found = running.finish()
    return shown + rest, found


@given(text=model_text, declared=st.lists(st.sampled_from(NAMES), unique=True))
def test_extraction_never_raises_and_returns_only_declared_calls(
    text: str, declared: list[str]
) -> None:
    counted()
    for call in tool_parse.parse(text, declared=declared):
        assert call.name in declared
        assert isinstance(call.arguments, str) and call.arguments


@given(
    found=calls,
    form=st.sampled_from(["xml", "envelope", "array", "function_call"]),
    before=plain_text,
)
def test_calls_in_every_form_round_trip(
    found: list[tuple[str, dict[str, Any]]], form: str, before: str
) -> None:
    counted()
    if form == "array":
        before = ""  # a bare JSON array counts only as the whole answer (too easily prose)
    parsed = tool_parse.parse(before + render(form, found), declared=NAMES)
    assert [(call.name, orjson.loads(call.arguments)) for call in parsed] == found


@given(text=model_text, cuts=st.lists(st.integers(0, 1000), max_size=8))
def test_the_sieve_neither_raises_nor_depends_on_chunking(text: str, cuts: list[int]) -> None:
    counted()
    assert sieve(chunked(text, cuts), NAMES) == sieve([text], NAMES)


@given(text=plain_text, cuts=st.lists(st.integers(0, 1000), max_size=8))
def test_text_without_calls_passes_the_sieve_unchanged(text: str, cuts: list[int]) -> None:
    counted()
    assert sieve(chunked(text, cuts), NAMES) == (text, [])


def test_a_fence_before_text_that_is_no_call_is_kept_however_it_arrives() -> None:
    """Regression: whole, ``"```<tool_calls>"`` lost its fence (dropped as the opening of a
    fenced call that never came); split after ``"```<"`` it kept it."""
    text = "```<tool_calls>"
    assert sieve([text], NAMES) == (text, [])
    assert sieve(["```<", "tool_calls>"], NAMES) == (text, [])


def test_a_fence_split_from_a_real_call_is_dropped_with_it() -> None:
    call = render("xml", [("search", {"q": "x"})])
    whole = sieve(["Here:\n```xml\n" + call + "\n```"], NAMES)
    split = sieve(["Here:\n```xml\n<", call[1:] + "\n```"], NAMES)
    assert whole == split
    assert whole[0] == "Here:\n"
    assert [(c.name, c.arguments) for c in whole[1]] == [("search", '{"q":"x"}')]
