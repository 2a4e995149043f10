"""The NDJSON decoder and frame parser on recorded-style lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from grok_web import errors, frames, ndjson
from grok_web import events as ev

DATA = Path(__file__).parent / "data"


def parse_bytes(body: bytes, *, chunk: int | None = None) -> list[Any]:
    decoder = ndjson.LineDecoder()
    parser = frames.ChatStreamParser(secrets=("sso-secret",))
    out: list[Any] = []
    pieces = [body] if chunk is None else [body[i : i + chunk] for i in range(0, len(body), chunk)]
    for piece in pieces:
        for frame in decoder.feed(piece):
            parser.handle(frame, out)
    for frame in decoder.flush():
        parser.handle(frame, out)
    out.append(parser.finish())
    return out


def test_recorded_stream_becomes_typed_events_in_order():
    events = parse_bytes((DATA / "chat_stream.ndjson").read_bytes())
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "ConversationStarted",
        "ReasoningDelta",
        "ReasoningDelta",
        "ToolUsageCard",
        "SearchResults",
        "TextDelta",
        "TextDelta",
        "Citation",
        "TextDelta",
        "Final",
    ]
    assert events[1] == ev.ReasoningDelta("Let me think", "Grok")
    assert events[3] == ev.ToolUsageCard("t-1", "web_search", {"query": "grok news"})
    assert events[4].results[0] == ev.SearchResult("https://example.com/a", "Example A", "aaa")
    assert events[7] == ev.Citation("https://example.com/a", "Example A", 1, "card-1")


def test_envelope_completes_the_streamed_prefix_and_final_carries_ids():
    events = parse_bytes((DATA / "chat_stream.ndjson").read_bytes())
    assert events[8] == ev.TextDelta("!")
    final = events[-1]
    assert isinstance(final, ev.Final)
    assert final.message == "Hello world!"
    assert final.response_id == "r-1"
    assert final.conversation_id == "c-1"
    assert final.parent_response_id == "r-user"
    assert final.model_hash == "h-1"


def test_text_after_done_is_ignored():
    events = parse_bytes((DATA / "chat_stream.ndjson").read_bytes())
    assert all(getattr(e, "text", "") != "after done" for e in events)


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_events_do_not_depend_on_chunk_boundaries(chunk):
    body = (DATA / "chat_stream.ndjson").read_bytes()
    assert parse_bytes(body, chunk=chunk) == parse_bytes(body)


def test_disagreeing_envelope_keeps_the_streamed_text():
    body = (
        b'{"result":{"response":{"token":"Hi there","messageTag":"final"}}}\n'
        b'{"result":{"response":{"modelResponse":{"responseId":"r","message":"Different"}}}}\n'
    )
    events = parse_bytes(body)
    assert [e for e in events if isinstance(e, ev.TextDelta)] == [ev.TextDelta("Hi there")]
    assert events[-1].message == "Hi there"


def test_envelope_only_stream_emits_the_whole_message():
    body = b'{"result":{"response":{"modelResponse":{"responseId":"r","message":"Only"}}}}'
    events = parse_bytes(body)
    assert events == [ev.TextDelta("Only"), ev.Final(response_id="r", message="Only")]


def test_crlf_and_whitespace_lines_are_tolerated():
    body = b'\r\n  \r\n{"result":{"response":{"token":"a","messageTag":"final"}}}\r\n'
    assert parse_bytes(body)[0] == ev.TextDelta("a")


def test_image_frames_become_progress_then_final():
    body = (
        b'{"result":{"response":{"streamingImageGenerationResponse":'
        b'{"imageIndex":0,"progress":50,"imageUrl":"users/u/generated/i-part-0/image.jpg"}}}}\n'
        b'{"result":{"response":{"streamingImageGenerationResponse":'
        b'{"imageIndex":0,"progress":100,"imageUrl":"users/u/generated/i/image.jpg","assetId":"a1"}}}}\n'
        b'{"result":{"response":{"streamingImageGenerationResponse":'
        b'{"imageIndex":1,"progress":100,"imageUrl":"users/u/generated/j/image.jpg","moderated":true}}}}\n'
        b'{"result":{"response":{"modelResponse":{"responseId":"r","message":"",'
        b'"generatedImageUrls":["users/u/generated/i/image.jpg"]}}}}\n'
    )
    events = parse_bytes(body)
    assert events[0] == ev.ImageProgress("0", 50, "users/u/generated/i-part-0/image.jpg")
    assert events[1] == ev.ImageFinal("0", "users/u/generated/i/image.jpg", "a1")
    assert events[2].moderated is True
    assert events[-1].generated_image_urls == ("users/u/generated/i/image.jpg",)


def test_image_chunk_cards_are_images_too():
    card = (
        b'{\\"id\\":\\"c\\",\\"image_chunk\\":{\\"imageUuid\\":\\"u1\\",'
        b'\\"imageUrl\\":\\"users/u/generated/u1/image.jpg\\",\\"progress\\":100,\\"moderated\\":false}}'
    )
    body = b'{"result":{"response":{"cardAttachment":{"jsonData":"' + card + b'"}}}}'
    events = parse_bytes(body)
    assert events[0] == ev.ImageFinal("u1", "users/u/generated/u1/image.jpg")


def test_video_frames_become_progress_then_final():
    body = (
        b'{"result":{"response":{"streamingVideoGenerationResponse":{"videoId":"v1","progress":40}}}}\n'
        b'{"result":{"response":{"streamingVideoGenerationResponse":{"videoId":"v1","progress":100,'
        b'"videoUrl":"users/u/generated/v1/generated_video.mp4","thumbnailImageUrl":"t.jpg",'
        b'"videoPostId":"p1","resolutionName":"480p"}}}}\n'
    )
    events = parse_bytes(body)
    assert events[0] == ev.VideoProgress("v1", 40)
    assert events[1] == ev.VideoFinal(
        "v1", "users/u/generated/v1/generated_video.mp4", "p1", "t.jpg", "480p"
    )


def test_legacy_tool_card_markup_in_token_is_parsed():
    token = (
        "<xai:tool_usage_card><xai:tool_name>web_search</xai:tool_name>"
        '<xai:tool_args><![CDATA[{"query":"x"}]]></xai:tool_args></xai:tool_usage_card>'
    )
    import orjson

    line = orjson.dumps({"result": {"response": {"token": token, "messageTag": "tool_usage_card"}}})
    events = parse_bytes(line)
    assert events[0] == ev.ToolUsageCard("", "web_search", {"query": "x"})


def test_x_search_results_build_status_links():
    body = (
        b'{"result":{"response":{"xSearchResults":{"results":'
        b'[{"postId":"9","username":"grok","text":"hi"}]}}}}\n'
        b'{"result":{"response":{"token":"a","messageTag":"final"}}}\n'
    )
    events = parse_bytes(body)
    assert events[0].results[0].url == "https://x.com/grok/status/9"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b'{"error":{"code":8,"message":"Too many requests"}}', errors.RateLimited),
        (
            b'{"error":{"code":7,"message":"Request rejected by anti-bot rules."}}',
            errors.AntiBotRejected,
        ),
        (
            b'{"result":{"response":{"error":{"code":13,"message":"internal"}}}}',
            errors.UpstreamUnavailable,
        ),
        (
            b'{"result":{"response":{"error":{"message":"You\'ve reached your usage limit."}}}}',
            errors.RateLimited,
        ),
    ],
)
def test_in_band_errors_raise_typed_exceptions(line, error):
    with pytest.raises(error):
        parse_bytes(line)


def test_stream_errors_alone_raise_their_translation():
    body = (
        b'{"result":{"response":{"modelResponse":{"responseId":"r","message":"",'
        b'"streamErrors":[{"code":8,"message":"rate limit"}]}}}}'
    )
    with pytest.raises(errors.RateLimited):
        parse_bytes(body)


def test_stream_errors_next_to_content_are_events():
    body = (
        b'{"result":{"response":{"token":"ok","messageTag":"final"}}}\n'
        b'{"result":{"response":{"modelResponse":{"responseId":"r","message":"ok","streamErrors":["minor"]}}}}\n'
    )
    events = parse_bytes(body)
    assert ev.StreamError("minor", None) in events
    assert events[-1].stream_errors == (ev.StreamError("minor", None),)


def test_a_stream_without_content_is_empty():
    with pytest.raises(errors.EmptyStream):
        parse_bytes(b'{"result":{"conversation":{"conversationId":"c"}}}\n')


def test_garbage_lines_are_skipped_and_counted():
    decoder = ndjson.LineDecoder()
    frames_ = decoder.feed(b'not json\n[1,2]\n{"result":{}}\n')
    assert frames_ == [{"result": {}}]
    assert decoder.skipped == 2


def test_in_band_error_messages_never_echo_the_credential():
    line = b'{"error":{"code":16,"message":"bad session sso=sso-secret"}}'
    with pytest.raises(errors.InvalidCredential) as info:
        parse_bytes(line)
    assert "sso-secret" not in str(info.value)


class _CountingHandlers(dict):  # type: ignore[type-arg]
    lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        type(self).lookups += 1
        return super().get(key, default)


def test_plain_token_frames_skip_the_handler_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every token frame of an answer carries these keys (§4.2): looking each key up in the
    # handler table cost more than the rest of the frame's parsing.
    monkeypatch.setattr(frames, "_HANDLERS", _CountingHandlers(frames._HANDLERS))
    parser = frames.ChatStreamParser(secrets=())
    out: list[Any] = []
    for text in ("Hel", "lo"):
        parser.handle({"result": {"response": {
            "token": text, "isThinking": False, "isSoftStop": False, "responseId": "r1",
            "messageTag": "final", "messageStepId": 0,
        }}}, out)
    assert [e.text for e in out] == ["Hel", "lo"] and parser.response_id == "r1"
    assert _CountingHandlers.lookups == 0
