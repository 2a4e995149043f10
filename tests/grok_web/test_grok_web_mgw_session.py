"""Session identity (protocol §16): the user id from /api/auth/session, cached per
credential (hash-keyed, one hour) so mgw turns do not pay the lookup each time."""

from __future__ import annotations

import asyncio

import pytest
from grok_web import ChatRequest, errors, session
from grok_web import events as ev
from grok_web import options as options_mod
from grok_web_helpers import collect
from grok_web_mgw_upstream import USER_ID

CRED_A = "eyJhbGciOiJIUzI1NiJ9.account-a-credential-000000.c2lnbmF0dXJlLWE"
CRED_B = "eyJhbGciOiJIUzI1NiJ9.account-b-credential-111111.c2lnbmF0dXJlLWI"


async def test_user_id_is_fetched_once_per_credential(upstream, mgw_grok) -> None:
    assert await mgw_grok.user_id(credential=CRED_A) == USER_ID
    assert await mgw_grok.user_id(credential="sso=" + CRED_A) == USER_ID  # same token
    assert upstream.session_hits == 1
    assert await mgw_grok.user_id(credential=CRED_B) == USER_ID
    assert upstream.session_hits == 2
    headers = upstream.session_headers[0]
    assert headers["Cookie"] == f"sso={CRED_A}; sso-rw={CRED_A}"
    assert "x-statsig-id" not in headers
    assert headers["Sec-Ch-Ua"]  # browser client hints, as HEAD sends on this call


async def test_chat_turns_reuse_the_cached_user_id(upstream, mgw_grok) -> None:
    for _ in range(3):
        upstream.play("plain_turn")
        events = await collect(mgw_grok.chat(credential=CRED_A, request=ChatRequest(message="hi")))
        assert isinstance(events[-1], ev.Final)
    assert upstream.session_hits == 1
    assert [r.path for r in upstream.requests] == [f"/ws/mgw/?uid={USER_ID}"] * 3


async def test_concurrent_lookups_share_one_request(upstream, mgw_grok) -> None:
    ids = await asyncio.gather(*(mgw_grok.user_id(credential=CRED_A) for _ in range(5)))
    assert set(ids) == {USER_ID}
    assert upstream.session_hits == 1


async def test_unauthenticated_session_is_invalid_credential(upstream, mgw_grok) -> None:
    upstream.session_body = {"status": "unauthenticated"}
    with pytest.raises(errors.InvalidCredential) as info:
        await collect(mgw_grok.chat(credential=CRED_A, request=ChatRequest(message="hi")))
    assert CRED_A not in str(info.value)
    assert upstream.requests == []  # no upgrade attempted


async def test_session_without_a_uuid_is_malformed(upstream, mgw_grok) -> None:
    upstream.session_body = {"session": {"userId": "not-a-uuid"}}
    with pytest.raises(errors.MalformedResponse):
        await mgw_grok.user_id(credential=CRED_A)


def test_user_id_shapes() -> None:
    uid = "497F19F8-1C2D-4E5F-8A9B-0C1D2E3F4A5B"
    assert session.user_id_from({"session": {"userId": uid}}) == uid.lower()
    assert session.user_id_from({"user": {"id": uid}}) == uid.lower()
    assert session.user_id_from({"user": {"sub": uid}}) == uid.lower()
    assert session.user_id_from({"userId": uid}) == uid.lower()
    assert session.user_id_from({"session": {"userId": ""}, "sub": uid}) == uid.lower()
    with pytest.raises(errors.InvalidCredential):
        session.user_id_from({"status": "blocked", "session": {"userId": uid}})


def test_cache_is_keyed_by_a_hash_bounded_and_expires(monkeypatch) -> None:
    cache = session.UserIdCache(ttl=10.0, max_entries=2)
    now = [1000.0]
    monkeypatch.setattr(session.time, "monotonic", lambda: now[0])
    for n, cred in enumerate((CRED_A, CRED_B, "third-credential-value")):
        done = _resolved(f"00000000-0000-4000-8000-00000000000{n}")
        cache._settle(session.credential_key(cred), done)
    assert len(cache) == 2
    assert cache.cached(CRED_A) is None  # oldest evicted
    assert cache.cached(CRED_B) == "00000000-0000-4000-8000-000000000001"
    assert all(CRED_B not in key for key in cache._entries)
    assert CRED_B not in repr(cache)
    now[0] += 11
    assert cache.cached(CRED_B) is None


def _resolved(value: str) -> asyncio.Future[str]:
    loop = asyncio.new_event_loop()
    try:
        future: asyncio.Future[str] = loop.create_future()
        future.set_result(value)
        return future
    finally:
        loop.close()


def test_chat_protocol_from_settings() -> None:
    from grok2api_settings import Settings

    assert options_mod.ClientOptions.from_settings(Settings()).chat_protocol == "mgw"
    settings = Settings.model_validate({"network": {"chat_protocol": "rest"}})
    assert options_mod.ClientOptions.from_settings(settings).chat_protocol == "rest"
