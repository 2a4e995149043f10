"""The Messages front's own parts, without a server: validation, conversion, output cuts,
tool inputs, the event writer and the error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gateway import errors
from gateway.access import limits
from gateway.anthropic import convert, events, request, shape, tool_input
from gateway.anthropic import errors as anthropic_errors
from gateway.chat import tool_parse, translate, usage

TOKENS = usage.TokenCounter()
USER = [{"role": "user", "content": "Hi"}]


def parsed(**fields: Any) -> request.MessagesRequest:
    body = {"model": "grok-4", "max_tokens": 100, "messages": USER, **fields}
    return request.parse(json.dumps(body).encode())


def refused(**fields: Any) -> errors.InvalidRequest:
    with pytest.raises(errors.InvalidRequest) as caught:
        parsed(**fields)
    return caught.value


def text(pieces: list[shape.Piece]) -> str:
    return "".join(piece for kind, piece in pieces if kind == shape.TEXT)


def test_a_stop_sequence_split_across_reads_is_found_and_never_shown() -> None:
    shaper = shape.Shaper(tokens=TOKENS, max_tokens=100, stop_sequences=["STOP"])
    shown = shaper.feed([(translate.CONTENT, "one tw"), (translate.CONTENT, "o ST")])
    assert text(shown) == "one two "  # "ST" may start the stop sequence: held back
    shown = shaper.feed([(translate.CONTENT, "OP three")])
    assert text(shown) == ""
    assert (shaper.stop_reason, shaper.stop_sequence) == ("stop_sequence", "STOP")
    assert shaper.finish() == []


def test_held_back_text_that_never_became_a_stop_sequence_is_released_at_the_end() -> None:
    shaper = shape.Shaper(tokens=TOKENS, max_tokens=100, stop_sequences=["STOP"])
    assert text(shaper.feed([(translate.CONTENT, "almost ST")])) == "almost "
    assert text(shaper.finish()) == "ST"
    assert shaper.stop_reason is None


def test_stop_sequences_apply_to_text_not_to_thinking() -> None:
    shaper = shape.Shaper(tokens=TOKENS, max_tokens=100, stop_sequences=["STOP"])
    shown = shaper.feed([(translate.REASONING, "I will not STOP"), (translate.CONTENT, "ok")])
    assert shown == [(shape.THINKING, "I will not STOP"), (shape.TEXT, "ok")]
    assert shaper.stop_reason is None


def test_max_tokens_counts_thinking_and_text_and_cuts_inside_a_piece() -> None:
    shaper = shape.Shaper(tokens=TOKENS, max_tokens=4, stop_sequences=())
    shown = shaper.feed([
        (translate.REASONING, "think think"),
        (translate.CONTENT, " a b c d e"),
        (translate.CONTENT, "f"),
    ])  # fmt: skip
    assert shown == [(shape.THINKING, "think think"), (shape.TEXT, " a b")]
    assert shaper.stop_reason == "max_tokens" and shaper.used == 4


def call(arguments: str) -> tool_parse.ParsedCall:
    return tool_parse.ParsedCall(name="lookup", arguments=arguments)


SCHEMA = {
    "lookup": {
        "type": "object",
        "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["q"],
    }
}


def test_tool_inputs_that_fit_their_schema_become_tool_uses() -> None:
    uses, rest = tool_input.checked([call('{"q": "grok", "n": 2.0}')], schemas=SCHEMA)
    assert rest == "" and uses[0].input == {"q": "grok", "n": 2.0}
    assert json.loads(uses[0].json) == uses[0].input and uses[0].id.startswith("toolu_")


@pytest.mark.parametrize(
    "arguments",
    [
        "not json at all", '["q"]', '{"n": 1}', '{"q": 5}', '{"q": "x", "n": true}',
        '{"q": "x", "n": 1.5}',
    ],
)
def test_tool_inputs_that_break_their_schema_are_shown_as_text(arguments: str) -> None:
    uses, rest = tool_input.checked([call(arguments)], schemas=SCHEMA)
    assert uses == [] and rest == f"lookup {arguments}"


def test_the_event_writer_numbers_blocks_and_signs_thinking_before_it_stops() -> None:
    writer = events.EventWriter(message_id="msg_1", model="grok-4")
    use = tool_input.ToolUse(id="toolu_1", name="lookup", input={"q": "x"}, json='{"q":"x"}')
    raw = b"".join([
        writer.start(input_tokens=7),
        writer.pieces([(shape.THINKING, "hm"), (shape.THINKING, "m"), (shape.TEXT, "Hi")]),
        writer.tool_use(use),
        writer.finish(stop_reason="tool_use", stop_sequence=None, input_tokens=7, output_tokens=3),
    ])  # fmt: skip
    frames = [frame.split("\n") for frame in raw.decode().strip().split("\n\n")]
    seen = [(f[0].removeprefix("event: "), json.loads(f[1].removeprefix("data: "))) for f in frames]
    summary = [(name, data.get("index"), _inner_type(data)) for name, data in seen]
    assert summary == [
        ("message_start", None, None), ("ping", None, None),
        ("content_block_start", 0, "thinking"),
        ("content_block_delta", 0, "thinking_delta"), ("content_block_delta", 0, "thinking_delta"),
        ("content_block_delta", 0, "signature_delta"), ("content_block_stop", 0, None),
        ("content_block_start", 1, "text"), ("content_block_delta", 1, "text_delta"),
        ("content_block_stop", 1, None),
        ("content_block_start", 2, "tool_use"), ("content_block_delta", 2, "input_json_delta"),
        ("content_block_stop", 2, None),
        ("message_delta", None, None), ("message_stop", None, None),
    ]  # fmt: skip
    assert seen[0][1]["message"]["usage"]["input_tokens"] == 7
    assert seen[-2][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (errors.InvalidRequest("bad"), 400, "invalid_request_error"),
        (errors.AuthenticationFailed("who?"), 401, "authentication_error"),
        (errors.ModelNotAllowed("no"), 403, "permission_error"),
        (errors.ModelNotFound("The model 'x' does not exist"), 404, "not_found_error"),
        (errors.RequestTooLarge("big", linger=False), 413, "request_too_large"),
        (RuntimeError("secret detail"), 500, "api_error"),
    ],
)
def test_errors_take_anthropics_shape_and_status(
    exc: BaseException, status: int, kind: str
) -> None:
    got_status, body = anthropic_errors.payload_for(exc)
    assert got_status == status
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert "secret detail" not in body["error"]["message"]


def test_a_key_limit_keeps_its_retry_after_in_anthropics_shape() -> None:
    refusal = limits.Refused(limit=limits.Limit.REQUESTS_PER_MINUTE, allowed=3, retry_after=12.5)
    response = anthropic_errors.error_response(errors.RateLimited.of(refusal))
    assert response.status_code == 429 and response.headers["retry-after"] == "13"
    assert json.loads(bytes(response.body))["error"]["type"] == "rate_limit_error"


def test_thinking_needs_a_budget_below_max_tokens() -> None:
    assert refused(thinking={"type": "enabled"}).param == "thinking.budget_tokens"
    assert refused(thinking={"type": "enabled", "budget_tokens": 2048}).param == "max_tokens"
    assert refused(thinking={"type": "enabled", "budget_tokens": 10}).param == (
        "thinking.budget_tokens"
    )


def test_tool_choice_must_name_a_declared_tool_and_any_needs_tools() -> None:
    tool = {"name": "lookup", "input_schema": {"type": "object"}}
    assert refused(tools=[tool], tool_choice={"type": "tool", "name": "other"}).param == (
        "tool_choice.name"
    )
    assert refused(tool_choice={"type": "any"}).param == "tool_choice"
    assert refused(tools=[{"name": "bad name!"}]).param == "tools.0.name"


def test_server_tools_are_accepted_and_not_offered_to_the_model() -> None:
    body = parsed(tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert convert.chat_request(body).tools is None


def test_blocks_become_the_chat_request_the_chat_path_flattens() -> None:
    body = parsed(messages=[
        {"role": "user", "content": [
            {"type": "text", "text": "Look:"},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "document", "title": "Notes", "source": {"type": "text", "data": "n1"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                            "data": "JVBERi0="}},
        ]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hm", "signature": "s"},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": [{"type": "text", "text": "timeout"}]},
        ]},
    ])  # fmt: skip
    user, assistant, result = convert.chat_request(body).messages
    parts: Any = user.content
    assert [part.type for part in parts] == ["text", "image_url", "text", "file"]
    assert parts[1].image_url.url == "https://example.com/a.png"
    assert parts[2].text == "Notes\n\nn1"
    assert parts[3].file.file_data == "data:application/pdf;base64,JVBERi0="
    assert parts[3].file.filename == "document.pdf"
    calls: Any = assistant.tool_calls
    assert assistant.content is None and calls[0].function.arguments == {"q": "x"}
    assert result.role == "tool" and result.tool_call_id == "toolu_1"
    results: Any = result.content
    assert [p.text for p in results] == [convert.ERROR_RESULT_NOTE, "timeout"]


def test_a_document_by_url_is_refused_with_what_to_send_instead() -> None:
    body = parsed(messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
    ]}])  # fmt: skip
    with pytest.raises(errors.InvalidRequest, match="base64") as caught:
        convert.chat_request(body)
    assert caught.value.param == "messages.0.content.0.source.url"


def _inner_type(data: dict[str, Any]) -> str | None:
    inner = data.get("delta") or data.get("content_block") or {}
    return inner.get("type")
