"""The mgw chat WebSocket (HEAD generation, grok-protocol.md §6)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import httpx2
import orjson
import pytest
from grok_sim.accounts import user_id_for
from grok_sim.testing import SimHandle
from sim_wire import UA
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

X_GROK = {"protocol_capabilities": ["conversation_attached", "custom_methods_v1"],
          "use_chunk": True, "enable_side_by_side": True, "force_side_by_side": False,
          "enable_image_generation": True, "image_generation_count": 2,
          "disable_text_follow_ups": False, "disable_artifact": True, "force_concise": False}


def mgw_url(sim: SimHandle, uid: str) -> str:
    return sim.base_url.replace("http://", "ws://") + f"/ws/mgw/?uid={uid}"


def mgw_headers(credential: str, uid: str | None = None) -> dict[str, str]:
    cookie = f"sso={credential}; sso-rw={credential}"
    if uid:
        cookie += f"; x-userid={uid}"
    return {"Origin": "https://grok.com", "User-Agent": UA, "Accept-Language": "en",
            "Cache-Control": "no-cache", "Pragma": "no-cache", "Cookie": cookie}


def session_create(model: str = "auto", session_id: str | None = None) -> str:
    x_grok = dict(X_GROK)
    message: dict[str, Any] = {}
    if session_id is None:
        x_grok.update(keep_context=False, is_temporary=True, disable_memory=True)
    else:
        x_grok.update(conversation_id=session_id, load_existing=True, needs_history=False)
        message["session_id"] = session_id
    message["event"] = {"type": "session.create", "event_id": "evt_init_1",
                        "session": {"model": model, "x_grok": x_grok}}
    return orjson.dumps(message).decode()


def item_create(session_id: str, prompt: str, *, parent: str | None = None,
                files: tuple[str, ...] = ()) -> str:
    chunks: list[dict[str, Any]] = [
        {"mention": {"target": {"file_mention": {"file_id": f}}}} for f in files]
    chunks.append({"text": {"text": prompt}})
    event: dict[str, Any] = {"type": "conversation.item.create",
                             "event_id": f"evt_msg_{int(time.time() * 1000)}",
                             "item": {"type": "message", "role": "user",
                                      "x_grok": {"client_message_id": str(uuid.uuid4()),
                                                 "input_chunks": chunks}}}
    if parent:
        event["parent_response_id"] = parent
    if files:
        event["file_attachment_ids"] = list(files)
    return orjson.dumps({"session_id": session_id, "event": event}).decode()


def response_create(session_id: str) -> str:
    return orjson.dumps({"session_id": session_id, "event": {
        "type": "response.create", "event_id": "evt_resp_1"}}).decode()


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), 5.0))


async def open_session(ws: ClientConnection, model: str = "auto",
                       session_id: str | None = None) -> str:
    await ws.send(session_create(model, session_id))
    created, attached = await recv(ws), await recv(ws)
    assert created["event"]["type"] == "session.created"
    assert created["event"]["client_event_id"] == "evt_init_1"
    assert attached["event"] == {**attached["event"], "type": "conversation.attached",
                                 "conversation": {"id": created["session_id"]}}
    return created["session_id"]


async def turn(ws: ClientConnection, session_id: str, prompt: str,
               parent: str | None = None) -> list[dict[str, Any]]:
    await ws.send(item_create(session_id, prompt, parent=parent))
    await ws.send(orjson.dumps({"event": {"type": "ping", "event_id": "evt_hb_1"}}).decode())
    await ws.send(response_create(session_id))
    events = []
    while True:
        frame = await recv(ws)
        events.append(frame["event"])
        if frame["event"]["type"] in ("response.done", "error", "session.ended"):
            return events


def texts(events: list[dict[str, Any]], channel: str) -> str:
    return "".join(e["chunk"]["text"]["text"] for e in events
                   if e["type"] == "response.chunk" and "text" in e["chunk"]
                   and e["chunk"]["text"]["channel"] == channel)


def shape(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        if event["type"] == "response.chunk":
            chunk = event["chunk"]
            kind = next(iter(chunk))
            out.append(f"{kind}:{chunk['text']['channel']}" if kind == "text" else kind)
        else:
            out.append(event["type"])
    return [k for i, k in enumerate(out) if i == 0 or k != out[i - 1]]


@pytest.fixture
def uid(account: str) -> str:
    return user_id_for(account)


async def test_plain_turn_is_answer_chunks_then_done(sim: SimHandle, account, uid, client):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account, uid)) as ws:
        sid = await open_session(ws)
        events = await turn(ws, sid, "Hello there")
    assert shape(events) == ["text:CHANNEL_ASSISTANT_RESPONSE", "response.done"]
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["id"]
    rest = await client.post("/rest/app-chat/conversations/new", headers=_rest(account),
                             json=_chat("Hello there"))
    from sim_wire import answer_text
    assert texts(events, "CHANNEL_ASSISTANT_RESPONSE") == answer_text(rest.text)
    assert sim.quota(account, "auto")["remaining"] == 18
    sent = [r["json"]["event"]["type"] for r in sim.requests(path="/ws/mgw/")
            if r["method"] == "WS"]
    assert sent == ["session.create", "conversation.item.create", "ping", "response.create"]
    assert sim.requests(path="/ws/mgw/")[0]["query"] == f"uid={uid}"


def _rest(account: str) -> dict[str, str]:
    from sim_wire import grok_headers
    return grok_headers(account)


def _chat(message: str, mode: str = "auto") -> dict[str, Any]:
    from sim_wire import chat_body
    return chat_body(message, mode)


async def test_expert_streams_reasoning_on_the_analysis_channel(sim: SimHandle, account, uid):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws, "expert")
        events = await turn(ws, sid, "Think hard")
    assert shape(events) == ["text:CHANNEL_ANALYSIS", "text:CHANNEL_ASSISTANT_RESPONSE",
                             "response.done"]
    assert texts(events, "CHANNEL_ANALYSIS").startswith("Thinking about the request.")
    assert sim.quota(account, "expert")["remaining"] == 7


async def test_search_turn_has_card_results_and_citations(sim: SimHandle, account, uid):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        events = await turn(ws, sid, "News [[sim:search=grok news]]")
    assert shape(events) == ["tool_usage_card", "tool_result", "text:CHANNEL_ASSISTANT_RESPONSE",
                             "render_citation", "response.done"]
    card = events[0]["chunk"]["tool_usage_card"]
    assert card["web_search"]["args"]["query"] == "grok news"
    pages = events[1]["chunk"]["tool_result"]["web_search"]["webpages"]
    assert events[1]["chunk"]["tool_result"]["tool_call_id"] == card["tool_usage_card_id"]
    assert len(pages) == 2 and {"url", "title", "snippet"} <= set(pages[0])
    citations = [e["chunk"]["render_citation"] for e in events if "render_citation" in
                 e.get("chunk", {})]
    assert [c["url"] for c in citations] == [p["url"] for p in pages]
    assert citations[0]["kind"] == "CITATION_KIND_WEB_PAGE"


async def test_drawing_prompt_gets_image_cards_that_download(sim: SimHandle, account, uid,
                                                             client: httpx2.AsyncClient):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws, "fast")
        events = await turn(ws, sid, "Drawing: a red fox")
    assert shape(events) == ["response.grok.output", "text:CHANNEL_ASSISTANT_RESPONSE",
                             "response.done"]
    cards = [e["output"]["card_attachment"] for e in events if e["type"] == "response.grok.output"]
    assert len(cards) == 2
    url = cards[0]["image_chunk"]["imageUrl"]
    assert url.startswith(f"users/{uid}/generated/") and url.endswith("/image.jpg")
    got = await client.get("/" + url, headers={"Cookie": f"sso={account}; sso-rw={account}"})
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert sim.quota(account, "fast")["remaining"] == 59


async def test_continuation_needs_the_last_response_id(sim: SimHandle, account, uid):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        first = (await turn(ws, sid, "one"))[-1]["response"]["id"]
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        assert await open_session(ws, session_id=sid) == sid
        wrong = await turn(ws, sid, "two", parent="not-the-last")
        assert wrong[-1]["type"] == "error" and "parent_response_id" in wrong[-1]["error"][
            "message"]
        # The rejected item leaves nothing to answer: response.create is an error too.
        assert "before conversation.item.create" in (await recv(ws))["event"]["error"]["message"]
        second = await turn(ws, sid, "two", parent=first)
        assert second[-1]["type"] == "response.done"
        assert second[-1]["response"]["id"] != first
        stale = await turn(ws, sid, "three", parent=first)
        assert stale[-1]["error"]["code"] == 3


async def test_continuing_an_unknown_conversation_is_an_error(sim: SimHandle, account, uid):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        await ws.send(session_create(session_id=str(uuid.uuid4())))
        assert (await recv(ws))["event"]["error"]["code"] == 5


async def test_invalid_session_create_names_the_fields(sim: SimHandle, account, uid):
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        await ws.send(orjson.dumps({"event": {"type": "session.create", "event_id": "e1",
                                              "session": {"model": "turbo", "x_grok": {}}}}
                                   ).decode())
        error = (await recv(ws))["event"]
        assert error["type"] == "error" and error["error"]["code"] == 3
        assert "session.model" in error["error"]["message"]
        assert "protocol_capabilities" in error["error"]["message"]
        sid = await open_session(ws)
        assert (await turn(ws, sid, "still works"))[-1]["type"] == "response.done"


async def test_exhausted_window_is_a_usage_limit_error(sim: SimHandle, uid):
    sim.add_account("tok-basic-1", quotas={"auto": 1})
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers("tok-basic-1")) as ws:
        sid = await open_session(ws)
        assert (await turn(ws, sid, "one"))[-1]["type"] == "response.done"
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers("tok-basic-1")) as ws:
        sid = await open_session(ws)
        error = (await turn(ws, sid, "two"))[-1]["error"]
    assert error == {"code": 8, "message": "You've reached your usage limit. Please try again "
                                          "later."}
    assert sim.quota("tok-basic-1", "auto")["remaining"] == 0


@pytest.mark.parametrize(("kind", "params", "code", "message"), [
    ("mgw-error", {"code": 14, "message": "unavailable"}, 14, "unavailable"),
    ("mgw-error", {}, 13, "Internal error"),
    ("code7", {}, 7, "Request rejected by anti-bot rules."),
    ("code8", {}, 8, "Too many requests"),
    ("usage-limit", {}, 8, "You've reached your usage limit. Please try again later."),
])
async def test_inband_faults_are_error_events(sim: SimHandle, account, uid, kind, params, code,
                                              message):
    sim.set_fault(kind, account=account, times=1, **params)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        events = await turn(ws, sid, "hi")
        assert [e["type"] for e in events] == ["error"]
        assert events[0]["error"] == {"code": code, "message": message}
        assert (await turn(ws, sid, "again"))[-1]["type"] == "response.done"
    assert sim.quota(account, "auto")["remaining"] == 19


async def test_session_ended_fault_replaces_response_done(sim: SimHandle, account, uid):
    sim.set_fault("mgw-session-ended", account=account, times=1)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        events = await turn(ws, sid, "hi")
        assert shape(events) == ["text:CHANNEL_ASSISTANT_RESPONSE", "session.ended"]
        with pytest.raises(ConnectionClosed):
            await recv(ws)
        assert ws.close_code == 1000


async def test_stall_stops_after_the_given_events(sim: SimHandle, account, uid):
    sim.set_fault("stall", account=account, times=1, after_frames=2)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        await ws.send(item_create(sid, "hi"))
        await ws.send(response_create(sid))
        got = [await recv(ws), await recv(ws)]
        assert all(f["event"]["type"] == "response.chunk" for f in got)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)


async def test_drop_aborts_the_connection(sim: SimHandle, account, uid):
    sim.set_fault("drop", account=account, times=1, after_frames=3)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        await ws.send(item_create(sid, "hi"))
        await ws.send(response_create(sid))
        got = []
        with pytest.raises(ConnectionClosed):
            while True:
                got.append(await recv(ws))
        assert len(got) == 3
        assert ws.close_code == 1006


async def test_malformed_inserts_one_unparseable_message(sim: SimHandle, account, uid):
    sim.set_fault("malformed", account=account, times=1, after_frames=1)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        await ws.send(item_create(sid, "hi"))
        await ws.send(response_create(sid))
        await recv(ws)
        with pytest.raises(orjson.JSONDecodeError):
            await recv(ws)
        frame = await recv(ws)
        assert frame["event"]["type"] == "response.chunk"


async def test_slow_faults_and_token_delay_space_out_events(sim: SimHandle, account, uid):
    sim.set_fault("slow-first-byte", account=account, times=1, delay_ms=300)
    sim.set_fault("slow-tokens", account=account, times=1, delay_ms=50)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        started = time.monotonic()
        await ws.send(item_create(sid, "hi"))
        await ws.send(response_create(sid))
        await recv(ws)
        first = time.monotonic() - started
        await recv(ws)
        gap = time.monotonic() - started - first
        assert first >= 0.3 and gap >= 0.04
        while (await recv(ws))["event"]["type"] != "response.done":
            continue
    sim.set_options(token_delay_ms=40)
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)) as ws:
        sid = await open_session(ws)
        started = time.monotonic()
        events = await turn(ws, sid, "x")
        assert time.monotonic() - started >= 0.04 * (len(events) - 1)


@pytest.mark.parametrize(("credential", "status"), [
    ("sim-fault-401", 401), ("sim-fault-blocked", 403), ("sim-fault-403", 403),
    ("sim-fault-429", 429), ("sim-fault-503", 503), ("unknown-token", 401),
])
async def test_handshake_faults_refuse_the_upgrade(sim: SimHandle, credential, status):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(mgw_url(sim, user_id_for(credential)),
                           additional_headers=mgw_headers(credential)):
            pass
    assert refused.value.response.status_code == status
    if status == 429:
        assert refused.value.response.headers["retry-after"]


async def test_cf_challenge_refusal_carries_its_headers(sim: SimHandle, account, uid):
    sim.set_fault("cf", account=account, times=1)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account)):
            pass
    response = refused.value.response
    assert response.status_code == 403 and response.headers["cf-mitigated"] == "challenge"
    assert b"Just a moment" in response.body


@pytest.mark.parametrize(("query_uid", "cookie_uid", "status"), [
    ("not-a-uuid", None, 400), ("", None, 400), (str(uuid.uuid4()), None, 403),
    (None, str(uuid.uuid4()), 403),
])
async def test_uid_must_be_the_accounts_uuid(sim: SimHandle, account, uid, query_uid,
                                             cookie_uid, status):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(mgw_url(sim, uid if query_uid is None else query_uid),
                           additional_headers=mgw_headers(account, cookie_uid)):
            pass
    assert refused.value.response.status_code == status


async def test_handshake_without_cookie_or_origin_is_a_400(sim: SimHandle, account, uid):
    for drop in ("Cookie", "Origin"):
        headers = {k: v for k, v in mgw_headers(account).items() if k != drop}
        with pytest.raises(InvalidStatus) as refused:
            async with connect(mgw_url(sim, uid), additional_headers=headers):
                pass
        assert refused.value.response.status_code == 400


async def test_connections_counts_the_mgw_sockets_open_now(sim: SimHandle, account, uid):
    assert sim.open_mgw_sockets() == 0
    async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account, uid)) as one:
        await one.send(session_create())
        await one.recv()  # accepted and served: the handler runs
        async with connect(mgw_url(sim, uid), additional_headers=mgw_headers(account, uid)) as two:
            await two.send(session_create())
            await two.recv()
            assert sim.open_mgw_sockets() == 2
        for _ in range(100):  # the server sees the close a moment later
            if sim.open_mgw_sockets() == 1:
                break
            await asyncio.sleep(0.02)
        assert sim.open_mgw_sockets() == 1
    for _ in range(100):
        if sim.open_mgw_sockets() == 0:
            break
        await asyncio.sleep(0.02)
    assert sim.open_mgw_sockets() == 0


async def test_a_client_leaving_mid_turn_ends_the_socket_quietly(sim: SimHandle, account, uid):
    errors: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = errors.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    sim.set_fault("slow-tokens", account=account, times=1, delay_ms=50)
    try:
        ws = await connect(mgw_url(sim, uid), additional_headers=mgw_headers(account))
        sid = await open_session(ws)
        await ws.send(item_create(sid, "hi"))
        await ws.send(response_create(sid))
        await recv(ws)
        ws.transport.abort()  # gone without a close frame, as a killed client is
        for _ in range(100):
            if sim.open_mgw_sockets() == 0:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the turn's next send finds the socket gone
    finally:
        logger.removeHandler(handler)
    assert sim.open_mgw_sockets() == 0
    assert [record.getMessage() for record in errors] == []
