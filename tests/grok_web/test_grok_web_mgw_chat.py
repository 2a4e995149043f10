"""Chat over the mgw WebSocket (protocol §6) against an in-test upstream: the client's
messages, the typed events of recorded turns, every failure class, teardown."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable

import grok_web_mgw_upstream as upstream_mod
import pytest
from grok_web import ChatRequest, errors, mgw_link
from grok_web import client as client_mod
from grok_web import events as ev
from grok_web_helpers import collect, make_options
from grok_web_mgw_upstream import USER_ID, Turn, Upstream

CRED = "eyJhbGciOiJIUzI1NiJ9.mgw-test-credential-0123456789.c2lnbmF0dXJlLXZhbHVl"


@pytest.fixture
async def mgw_client(upstream) -> AsyncIterator[Callable[..., client_mod.GrokClient]]:
    made: list[client_mod.GrokClient] = []

    def build(**timeouts: float) -> client_mod.GrokClient:
        options = dataclasses.replace(make_options(upstream.base_url, **timeouts),
                                      chat_protocol="mgw")  # fmt: skip
        made.append(client_mod.GrokClient(options=options))
        return made[-1]

    yield build
    for client in made:
        await client.aclose()


def _text(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, ev.TextDelta))


# --- the client's messages -------------------------------------------------------------


async def test_handshake_url_headers_and_client_messages(upstream, mgw_client) -> None:
    data = upstream.play("plain_turn")
    grok = mgw_client()
    request = ChatRequest(
        message="Say hello", model="grok-4", file_attachments=("file-a", "file-b")
    )
    events = await collect(grok.chat(credential="sso=" + CRED, request=request))
    assert isinstance(events[-1], ev.Final)

    [handshake] = upstream.requests
    assert handshake.path == f"/ws/mgw/?uid={USER_ID}"
    headers = handshake.headers
    assert headers["Origin"] == upstream.base_url
    assert headers["Cookie"] == f"sso={CRED}; sso-rw={CRED}; x-userid={USER_ID}"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Pragma"] == "no-cache"
    assert headers["Accept-Language"]
    assert headers["User-Agent"] == grok.options.egress.user_agent
    assert "x-statsig-id" not in headers and "Baggage" not in headers
    assert not any(name.lower().startswith("sec-ch-ua") for name in headers)

    create, item, response = upstream.turns[0].received
    assert create["event"]["type"] == "session.create"
    assert create["event"]["event_id"].startswith("evt_init_")
    assert "session_id" not in create
    assert create["event"]["session"] == {
        "model": "auto",
        "x_grok": {
            "protocol_capabilities": ["conversation_attached", "custom_methods_v1"],
            "use_chunk": True,
            "enable_side_by_side": True,
            "force_side_by_side": False,
            "enable_image_generation": True,
            "image_generation_count": 2,
            "disable_text_follow_ups": False,
            "disable_artifact": True,
            "force_concise": False,
            "keep_context": False,
            "is_temporary": True,
            "disable_memory": True,
        },
    }
    sid = data["session_id"]
    assert item["session_id"] == sid
    assert item["event"]["type"] == "conversation.item.create"
    assert item["event"]["event_id"].startswith("evt_msg_")
    assert item["event"]["file_attachment_ids"] == ["file-a", "file-b"]
    message = item["event"]["item"]
    assert message["type"] == "message" and message["role"] == "user"
    assert message["file_attachment_ids"] == ["file-a", "file-b"]
    assert message["x_grok"]["client_message_id"]
    assert message["x_grok"]["input_chunks"] == [
        {"mention": {"target": {"file_mention": {"file_id": "file-a"}}}},
        {"mention": {"target": {"file_mention": {"file_id": "file-b"}}}},
        {"text": {"text": "Say hello"}},
    ]
    assert response["session_id"] == sid
    assert response["event"]["type"] == "response.create"
    assert response["event"]["event_id"].startswith("evt_resp_")
    assert set(response["event"]) == {"type", "event_id"}  # no castle_request_token
    for sent in upstream.turns[0].received:
        assert CRED not in str(sent)


async def test_session_flags_follow_the_request(upstream, mgw_client) -> None:
    upstream.play("plain_turn")
    request = ChatRequest(message="x", model="grok-4-heavy", temporary=False, disable_memory=False)
    await collect(mgw_client().chat(credential=CRED, request=request))
    create = upstream.turns[0].received[0]["event"]["session"]
    assert create["model"] == "heavy"
    assert create["x_grok"]["is_temporary"] is False
    assert create["x_grok"]["disable_memory"] is False
    item = upstream.turns[0].received[1]["event"]
    assert "file_attachment_ids" not in item
    assert item["item"]["x_grok"]["input_chunks"] == [{"text": {"text": "x"}}]


# --- typed events of recorded turns ----------------------------------------------------


async def test_plain_turn(upstream, mgw_client) -> None:
    data = upstream.play("plain_turn")
    events = await collect(mgw_client().chat(credential=CRED, request=ChatRequest(message="hi")))
    sid = data["session_id"]
    assert events == [
        ev.ConversationStarted(sid),
        ev.TextDelta("Hello"),
        ev.TextDelta(", world."),
        ev.Final(
            response_id="9a8b7c6d-0000-4000-8000-000000000001",
            message="Hello, world.",
            conversation_id=sid,
        ),
    ]


async def test_reasoning_turn(upstream, mgw_client) -> None:
    upstream.play("reasoning_turn")
    request = ChatRequest(message="2+2?", model="grok-4.1-thinking")
    events = await collect(mgw_client().chat(credential=CRED, request=request))
    assert upstream.turns[0].received[0]["event"]["session"]["model"] == "expert"
    assert [e for e in events if isinstance(e, ev.ReasoningDelta)] == [
        ev.ReasoningDelta("The user asks 2+2. "),
        ev.ReasoningDelta("That is 4."),
    ]
    assert _text(events) == "2 + 2 = 4"  # output_text.done not repeated; follow-ups dropped
    assert events[-1].message == "2 + 2 = 4"


async def test_search_turn_with_citations(upstream, mgw_client) -> None:
    upstream.play("search_turn")
    events = await collect(mgw_client().chat(credential=CRED, request=ChatRequest(message="q")))
    cards = [e for e in events if isinstance(e, ev.ToolUsageCard)]
    assert cards == [
        ev.ToolUsageCard("card-ws-1", "web_search", {"query": "python 3.13 release date"}),
        ev.ToolUsageCard("card-xs-1", "x_search", {"query": "python 3.13 released"}),
    ]
    results = [e for e in events if isinstance(e, ev.SearchResults)]
    assert [r.kind for r in results] == ["web", "x", "web"]
    assert results[0].results[0] == ev.SearchResult(
        "https://www.python.org/downloads/release/python-3130/",
        "Python Release Python 3.13.0",
        "Python 3.13.0 is the newest major release.",
    )
    assert results[1].results == (
        ev.SearchResult(
            "https://x.com/ThePSF/status/1843000000000000001", "@ThePSF", "Python 3.13 is out!"
        ),
    )
    assert results[2].results[0].title == "What's New In Python 3.13"
    citations = [e for e in events if isinstance(e, ev.Citation)]
    assert citations == [
        ev.Citation(
            "https://www.python.org/downloads/release/python-3130/",
            "Python Release Python 3.13.0", 1, "cit-1",
        ),
        ev.Citation(
            "https://peps.python.org/pep-0719/", "PEP 719 - Python 3.13 Release Schedule", 2,
            "cit-2",
        ),
        ev.Citation(
            "https://www.python.org/downloads/release/python-3130/",
            "Python Release Python 3.13.0", 1, "cit-3",
        ),
        ev.Citation("https://x.com/ThePSF/status/1843000000000000001", "", 3, "cit-4"),
    ]  # fmt: skip
    # Citations sit where they were rendered, after the text they support.
    kinds = [type(e).__name__ for e in events[-7:]]
    assert kinds == [
        "TextDelta", "Citation", "TextDelta", "Citation", "Citation", "Citation", "Final",
    ]  # fmt: skip
    assert (
        events[-1].message
        == "Python 3.13 was released on 7 October 2024. Its schedule was PEP 719."
    )


async def test_image_card_turn(upstream, mgw_client) -> None:
    upstream.play("image_turn")
    request = ChatRequest(message="Drawing: a lighthouse", model="grok-3-fast")
    events = await collect(mgw_client().chat(credential=CRED, request=request))
    assert upstream.turns[0].received[0]["event"]["session"]["model"] == "fast"
    images = [e for e in events if isinstance(e, ev.ImageProgress | ev.ImageFinal)]
    assert images == [
        ev.ImageProgress("img-1", 50, "users/u-1/generated/img-1/image.jpg"),
        ev.ImageProgress("img-2", 60, "users/u-1/generated/img-2/image.jpg", moderated=True),
        ev.ImageFinal("img-1", "users/u-1/generated/img-1/image.jpg"),
    ]
    assert isinstance(events[-1], ev.Final)


async def test_chat_batches_one_list_per_event(upstream, mgw_client) -> None:
    upstream.play("plain_turn")
    batches = await collect(
        mgw_client().chat_batches(credential=CRED, request=ChatRequest(message="hi"))
    )
    assert [len(b) for b in batches] == [1, 1, 1, 1]
    assert isinstance(batches[0][0], ev.ConversationStarted)
    assert isinstance(batches[-1][0], ev.Final)


async def test_the_newest_generation_is_the_default(upstream) -> None:
    assert make_options(upstream.base_url).chat_protocol == "mgw"


# --- failures ------------------------------------------------------------------------


def _scripted(upstream: Upstream, frames: list[dict], *, then_close: bool = False) -> None:
    data = upstream_mod.fixture("plain_turn")

    async def script(turn: Turn) -> None:
        await turn.handshake(data["handshake"])
        await turn.expect("conversation.item.create")
        await turn.expect("response.create")
        await turn.send(*frames)
        if then_close:
            await turn.conn.close()

    upstream.script = script


async def _fails(grok: client_mod.GrokClient) -> errors.GrokWebError:
    with pytest.raises(errors.GrokWebError) as info:
        await collect(grok.chat(credential=CRED, request=ChatRequest(message="hi")))
    assert CRED not in str(info.value) and CRED not in repr(info.value)
    return info.value


def _chunk(text: str) -> dict:
    text_chunk = {"text": text, "channel": "CHANNEL_ASSISTANT_RESPONSE"}
    return {"event": {"type": "response.chunk", "chunk": {"text": text_chunk}}}


async def test_refused_upgrade_with_a_cloudflare_page(upstream, mgw_client) -> None:
    page = b"<!DOCTYPE html><title>Just a moment...</title><div id=challenge-platform></div>"
    upstream.refuse = (403, [("Content-Type", "text/html"), ("cf-mitigated", "challenge")], page)
    error = await _fails(mgw_client())
    assert isinstance(error, errors.CloudflareChallenge) and error.blame == "egress"


async def test_refused_upgrade_403_json_is_forbidden(upstream, mgw_client) -> None:
    body = b'{"error":{"code":7,"message":"not allowed"}}'
    upstream.refuse = (403, [("Content-Type", "application/json")], body)
    assert type(await _fails(mgw_client())) is errors.Forbidden


async def test_refused_upgrade_401(upstream, mgw_client) -> None:
    upstream.refuse = (401, [("Content-Type", "application/json")], b'{"error":"unauthorized"}')
    assert isinstance(await _fails(mgw_client()), errors.InvalidCredential)


async def test_refused_upgrade_429_keeps_retry_after(upstream, mgw_client) -> None:
    upstream.refuse = (429, [("Content-Type", "application/json"), ("Retry-After", "17")], b"{}")
    error = await _fails(mgw_client())
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == 17


async def test_refused_upgrade_503(upstream, mgw_client) -> None:
    upstream.refuse = (503, [("Content-Type", "text/plain")], b"down")
    assert isinstance(await _fails(mgw_client()), errors.UpstreamUnavailable)


async def test_error_event_code_8_is_rate_limited(upstream, mgw_client) -> None:
    message = "You've reached your usage limit. Please try again later."
    error_event = {"type": "error", "error": {"code": 8, "message": message}}
    _scripted(upstream, [_chunk("Hel"), {"event": error_event}])
    error = await _fails(mgw_client())
    assert isinstance(error, errors.RateLimited) and error.code == 8


async def test_error_event_code_7_is_anti_bot(upstream, mgw_client) -> None:
    anti_bot = {"code": 7, "message": "Request rejected by anti-bot rules."}
    error_event = {"type": "error", "error": anti_bot}
    _scripted(upstream, [{"event": error_event}])
    assert isinstance(await _fails(mgw_client()), errors.AntiBotRejected)


async def test_error_event_during_the_handshake(upstream, mgw_client) -> None:
    async def script(turn: Turn) -> None:
        await turn.expect("session.create")
        await turn.send({"event": {"type": "error", "error": {"code": 8, "message": "rate limit"}}})

    upstream.script = script
    assert isinstance(await _fails(mgw_client()), errors.RateLimited)


async def test_stream_error_output_is_classified(upstream, mgw_client) -> None:
    output = {"stream_error": {"code": 7, "message": "anti-bot"}}
    _scripted(upstream, [{"event": {"type": "response.grok.output", "output": output}}])
    assert isinstance(await _fails(mgw_client()), errors.AntiBotRejected)


async def test_session_ended_early_is_transient(upstream, mgw_client) -> None:
    _scripted(upstream, [_chunk("Hel"), {"event": {"type": "session.ended"}}])
    error = await _fails(mgw_client())
    assert type(error) is errors.UpstreamUnavailable and error.blame == "transient"


async def test_connection_dropped_before_done(upstream, mgw_client) -> None:
    _scripted(upstream, [_chunk("Hel")], then_close=True)
    assert type(await _fails(mgw_client())) is errors.UpstreamUnavailable


async def test_response_not_completed(upstream, mgw_client) -> None:
    done = {"type": "response.done", "response": {"id": "r", "status": "failed"}}
    _scripted(upstream, [_chunk("Hel"), {"event": done}])
    assert isinstance(await _fails(mgw_client()), errors.UpstreamUnavailable)


async def test_completed_without_content_is_empty(upstream, mgw_client) -> None:
    done = {"type": "response.done", "response": {"id": "r", "status": "completed"}}
    _scripted(upstream, [{"event": done}])
    assert isinstance(await _fails(mgw_client()), errors.EmptyStream)


async def test_foreign_session_created_is_ignored_and_mismatch_is_malformed(
    upstream, mgw_client
) -> None:
    async def script(turn: Turn) -> None:
        await turn.expect("session.create")
        await turn.send(
            {"session_id": "other", "event": {"type": "session.created",
                                              "client_event_id": "evt_init_not-ours"}},
        )  # fmt: skip
        create = turn.received[0]["event"]["event_id"]
        await turn.send(
            {"session_id": "s-1", "event": {"type": "session.created", "client_event_id": create}},
            {"session_id": "s-1", "event": {"type": "conversation.attached",
                                            "conversation": {"id": "c-other"}}},
        )  # fmt: skip

    upstream.script = script
    assert isinstance(await _fails(mgw_client()), errors.MalformedResponse)


async def test_first_byte_timeout(upstream, mgw_client) -> None:
    async def script(turn: Turn) -> None:
        await turn.expect("session.create")
        await asyncio.sleep(5)

    upstream.script = script
    error = await _fails(mgw_client(first_byte=0.4, stream_idle=5.0))
    assert isinstance(error, errors.FirstByteTimeout)


async def test_idle_timeout(upstream, mgw_client) -> None:
    async def after(turn: Turn) -> None:
        await asyncio.sleep(5)

    data = upstream_mod.fixture("plain_turn")

    async def script(turn: Turn) -> None:
        await turn.handshake(data["handshake"])
        await turn.expect("conversation.item.create")
        await turn.expect("response.create")
        await turn.send(_chunk("Hel"))
        await after(turn)

    upstream.script = script
    error = await _fails(mgw_client(first_byte=5.0, stream_idle=0.4))
    assert type(error) is errors.StreamIdleTimeout


async def test_heartbeat_while_waiting(upstream, mgw_client, monkeypatch) -> None:
    monkeypatch.setattr(mgw_link, "HEARTBEAT_SECONDS", 0.15)
    data = upstream_mod.fixture("plain_turn")

    async def script(turn: Turn) -> None:
        await turn.handshake(data["handshake"])
        await turn.expect("conversation.item.create")
        await turn.expect("response.create")
        ping = await turn.expect("ping")
        assert ping["event"]["event_id"].startswith("evt_hb_")
        assert set(ping) == {"event"}
        await turn.send(*data["response"])

    upstream.script = script
    events = await collect(mgw_client().chat(credential=CRED, request=ChatRequest(message="hi")))
    assert isinstance(events[-1], ev.Final)


# --- teardown ------------------------------------------------------------------------


async def test_closing_early_terminates_the_socket(upstream, mgw_client) -> None:
    data = upstream_mod.fixture("plain_turn")
    release = asyncio.Event()

    async def script(turn: Turn) -> None:
        await turn.handshake(data["handshake"])
        await turn.expect("conversation.item.create")
        await turn.expect("response.create")
        await turn.send(_chunk("Hel"))
        await release.wait()

    upstream.script = script
    stream = mgw_client().chat(credential=CRED, request=ChatRequest(message="hi"))
    async with contextlib.aclosing(stream):
        async for event in stream:
            if isinstance(event, ev.TextDelta):
                break
    await asyncio.wait_for(upstream.closed.wait(), 3)
    release.set()


async def test_cancelling_the_consumer_terminates_the_socket(upstream, mgw_client) -> None:
    data = upstream_mod.fixture("plain_turn")
    started = asyncio.Event()

    async def script(turn: Turn) -> None:
        await turn.handshake(data["handshake"])
        await turn.expect("conversation.item.create")
        await turn.expect("response.create")
        started.set()
        await asyncio.sleep(10)

    upstream.script = script
    grok = mgw_client()

    async def consume() -> None:
        await collect(grok.chat(credential=CRED, request=ChatRequest(message="hi")))

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(upstream.closed.wait(), 3)


async def test_socket_closed_after_final(upstream, mgw_client) -> None:
    upstream.play("plain_turn")
    stream = mgw_client().chat(credential=CRED, request=ChatRequest(message="hi"))
    async for event in stream:
        if isinstance(event, ev.Final):
            break  # not closed by the consumer: the socket is already gone
    await asyncio.wait_for(upstream.closed.wait(), 3)
    await stream.aclose()  # type: ignore[attr-defined]
