"""A caller that knows the account's user id (stored with the account) passes it: the mgw
turn makes no /api/auth/session call; a turn that had to look it up reports it on
ConversationStarted so the caller can store it. REST ignores it."""

from __future__ import annotations

import pytest
from grok_web import ChatRequest, errors
from grok_web import events as ev
from grok_web_helpers import collect
from grok_web_mgw_upstream import USER_ID

CRED = "eyJhbGciOiJIUzI1NiJ9.known-user-id-credential-000.c2lnbmF0dXJlLWs"


async def test_a_discovered_user_id_is_reported_on_the_first_event(upstream, mgw_grok) -> None:
    upstream.play("plain_turn")
    events = await collect(mgw_grok.chat(credential=CRED, request=ChatRequest(message="hi")))
    assert isinstance(events[0], ev.ConversationStarted)
    assert events[0].user_id == USER_ID
    assert upstream.session_hits == 1
    # cached in this client: still discovered (not given), so still reported
    upstream.play("plain_turn")
    turn = mgw_grok.chat_batches(credential=CRED, request=ChatRequest(message="x"))
    batches = [batch async for batch in turn]
    assert batches[0] == [ev.ConversationStarted(batches[0][0].conversation_id)]
    assert batches[0][0].user_id == USER_ID
    assert upstream.session_hits == 1


async def test_a_known_user_id_skips_the_session_call(upstream, mgw_grok) -> None:
    for stream in ("chat", "chat_batches"):
        upstream.play("plain_turn")
        call = getattr(mgw_grok, stream)
        got = [e async for e in call(credential=CRED, request=ChatRequest(message="hi"),
                                     user_id=USER_ID.upper())]  # fmt: skip
        first = got[0][0] if stream == "chat_batches" else got[0]
        assert isinstance(first, ev.ConversationStarted) and first.user_id == ""
    assert upstream.session_hits == 0
    assert [r.path for r in upstream.requests] == [f"/ws/mgw/?uid={USER_ID}"] * 2
    assert all(f"x-userid={USER_ID}" in r.headers["Cookie"] for r in upstream.requests)


async def test_a_malformed_user_id_is_a_usage_error(upstream, mgw_grok) -> None:
    with pytest.raises(errors.UsageError):
        await collect(mgw_grok.chat(credential=CRED, request=ChatRequest(message="hi"),
                                user_id="abc&uid=other"))  # fmt: skip
    assert upstream.session_hits == 0 and upstream.requests == []
