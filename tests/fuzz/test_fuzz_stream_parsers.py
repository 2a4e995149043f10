"""Upstream stream parsers on arbitrary input: the REST chat stream's NDJSON lines and the
mgw WebSocket events. Whatever the bytes, they raise nothing but ``GrokWebError``, and
the decoder's framing does not depend on how the body was chunked."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from fuzz_profile import counted
from grok_web import errors, frames, mgw, ndjson
from hypothesis import given
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
# Keys the parsers look for, so generated frames reach past the first branch.
FRAME_KEYS = [
    "result", "response", "token", "isThinking", "messageTag", "error", "code", "message",
    "modelResponse", "finalMetadata", "conversation", "conversationId", "responseId",
    "cardAttachment", "jsonData", "webSearchResults", "results", "imageAttachmentInfo",
    "streamingImageGenerationResponse", "progress", "imageIndex", "toolUsageCard",
    "generatedImageUrls", "userResponse", "xSearchResults", "llmInfo", "modelHash",
]  # fmt: skip
keys = st.sampled_from(FRAME_KEYS) | st.text(max_size=8)
frame_like = st.recursive(
    json_values,
    lambda inner: st.dictionaries(keys, inner, max_size=5),
    max_leaves=15,
)
line_bytes = st.one_of(
    st.binary(max_size=80),
    frame_like.map(lambda value: orjson.dumps(value)),
    frame_like.map(lambda value: b"data: " + orjson.dumps(value)),
    st.sampled_from([b"[DONE]", b"data: [DONE]", b"event: x", b": ping", b"", b"\r"]),
)


def chunked(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(body) + 1) for cut in cuts})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def decode(pieces: list[bytes]) -> tuple[list[dict[str, Any]], int]:
    decoder = ndjson.LineDecoder()
    out: list[dict[str, Any]] = []
    for piece in pieces:
        out += decoder.feed(piece)
    out += decoder.flush()
    return out, decoder.skipped


@given(lines=st.lists(line_bytes, max_size=12), cuts=st.lists(st.integers(0, 10_000)))
def test_ndjson_frames_do_not_depend_on_chunking(lines: list[bytes], cuts: list[int]) -> None:
    counted()
    body = b"\n".join(lines)
    whole = decode([body])
    assert decode(chunked(body, cuts)) == whole
    assert all(isinstance(frame, dict) for frame in whole[0])


@given(frames_=st.lists(st.dictionaries(keys, json_values, max_size=5), max_size=8))
def test_ndjson_round_trips_serialised_objects(frames_: list[dict[str, Any]]) -> None:
    counted()
    body = b"".join(orjson.dumps(frame) + b"\n" for frame in frames_)
    assert decode([body]) == (frames_, 0)


@given(lines=st.lists(line_bytes, max_size=12), secret=st.text(min_size=8, max_size=12))
def test_rest_chat_stream_raises_only_grok_web_errors(lines: list[bytes], secret: str) -> None:
    counted()
    parser = frames.ChatStreamParser(secrets=(secret,))
    out: list[Any] = []
    try:
        parser.handle_all(decode([b"\n".join(lines)])[0], out)
        out.append(parser.finish())
    except errors.GrokWebError as exc:
        assert secret not in str(exc)


MGW_TYPES = [
    "response.chunk", "response.output_text.delta", "response.output_text.done",
    "response.search.result", "response.grok.output", "response.done", "error",
    "session.ended", "session.created", "conversation.attached",
]  # fmt: skip
MGW_KEYS = [
    "type", "chunk", "delta", "text", "result", "output", "response", "error", "status", "id",
    "channel", "tool_usage_card", "tool_result", "render_citation", "url", "web_search",
    "webpages", "x_post", "posts", "stream_error", "card_attachment", "json_data", "code",
]  # fmt: skip
mgw_inner = st.recursive(
    json_values,
    lambda inner: st.dictionaries(st.sampled_from(MGW_KEYS) | st.text(max_size=6), inner,
                                  max_size=4),
    max_leaves=12,
)
mgw_event = st.builds(
    lambda kind, rest: {**rest, "type": kind},
    st.sampled_from(MGW_TYPES) | st.text(max_size=10),
    st.dictionaries(st.sampled_from(MGW_KEYS), mgw_inner, max_size=4),
)
mgw_frame = st.one_of(
    st.fixed_dictionaries({"event": mgw_event}),
    st.fixed_dictionaries({"event": json_values}),
    json_values,
)


@given(frames_=st.lists(mgw_frame, max_size=10), secret=st.text(min_size=8, max_size=12))
def test_mgw_events_raise_only_grok_web_errors(frames_: list[Any], secret: str) -> None:
    counted()
    turn = mgw.Turn(secrets=(secret,))
    turn.started("session-1")
    out: list[Any] = []
    try:
        for frame in frames_:
            if turn.handle(frame, out) is not None:
                break
    except errors.GrokWebError as exc:
        assert secret not in str(exc)


def test_a_rest_frame_of_the_wrong_shape_is_a_malformed_response() -> None:
    """Regression: the stream's last line (no newline, decoded by ``flush``) was handled
    outside the translation, so ``{"result": []}`` there escaped as an AttributeError."""
    decoder = ndjson.LineDecoder()
    parser = frames.ChatStreamParser()
    out: list[Any] = []
    parser.handle_all(decoder.feed(b'{"result": {"response": {"token": "hi"}}}\n{"result": []}'),
                      out)  # fmt: skip
    with pytest.raises(errors.MalformedResponse):
        parser.handle_all(decoder.flush(), out)


def test_an_mgw_event_of_the_wrong_shape_is_a_malformed_response() -> None:
    turn = mgw.Turn()
    frame = {"event": {"type": "response.chunk",
                       "chunk": {"tool_result": {"web_search": {"webpages": 5}}}}}  # fmt: skip
    with pytest.raises(errors.MalformedResponse):
        turn.handle(frame, [])
