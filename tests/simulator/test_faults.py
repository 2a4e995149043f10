"""Faults on demand: control API (global / per account / counted) and credential names."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest
from grok_sim.testing import SimHandle
from sim_wire import answer_text, chat_body, frames_of, grok_headers

CHAT = "/rest/app-chat/conversations/new"


async def chat(client: httpx2.AsyncClient, credential: str) -> httpx2.Response:
    return await client.post(CHAT, headers=grok_headers(credential), json=chat_body())


async def test_401_fault_answers_an_invalid_credential_body(client, account, sim: SimHandle):
    sim.set_fault("401", account=account, times=1)
    first, second = await chat(client, account), await chat(client, account)
    assert first.status_code == 401 and "invalid-credentials" in first.text
    assert second.status_code == 200


async def test_cf_fault_answers_a_cloudflare_challenge_page(client, account, sim: SimHandle):
    sim.set_fault("cf", times=1)
    answer = await chat(client, account)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "Just a moment" in answer.text and "challenge-platform" in answer.text
    assert answer.headers["server"] == "cloudflare"


async def test_blocked_fault_carries_the_block_marker(client):
    answer = await chat(client, "sim-fault-blocked")
    assert answer.status_code == 403 and "blocked-user" in answer.json()["error"]["message"]


async def test_403_fault_answers_json(client, account, sim: SimHandle):
    sim.set_fault("403", account=account, times=1)
    answer = await chat(client, account)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == 7


async def test_429_fault_carries_retry_after(client, account, sim: SimHandle):
    sim.set_fault("429", account=account, times=1, retry_after=45)
    answer = await chat(client, account)
    assert answer.status_code == 429 and answer.headers["retry-after"] == "45"


@pytest.mark.parametrize("status", ["500", "502", "503"])
async def test_5xx_faults(client, account, sim: SimHandle, status):
    sim.set_fault(status, times=1)
    assert (await chat(client, account)).status_code == int(status)


async def test_counted_fault_fires_exactly_that_many_times(client, account, sim: SimHandle):
    sim.set_fault("500", account=account, times=2)
    codes = [(await chat(client, account)).status_code for _ in range(3)]
    assert codes == [500, 500, 200]


async def test_account_fault_spares_other_accounts(client, account, sim: SimHandle):
    sim.add_account("tok-other")
    sim.set_fault("500", account=account)
    assert (await chat(client, "tok-other")).status_code == 200
    assert (await chat(client, account)).status_code == 500
    sim.clear_faults(account=account)
    assert (await chat(client, account)).status_code == 200


async def test_fault_limited_to_a_path_prefix(client, account, sim: SimHandle):
    sim.set_fault("500", path="/rest/rate-limits")
    assert (await chat(client, account)).status_code == 200
    limits = await client.post("/rest/rate-limits", headers=grok_headers(account),
                               json={"modelName": "auto"})
    assert limits.status_code == 500


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [("code7", 7, "anti-bot"), ("code8", 8, "Too many requests"),
     ("usage-limit", 8, "usage limit")],
)
async def test_inband_errors_arrive_in_a_200_stream(client, account, sim: SimHandle, kind, code,
                                                    words):
    sim.set_fault(kind, account=account, times=1)
    answer = await chat(client, account)
    assert answer.status_code == 200
    frames = frames_of(answer.text)
    assert "conversation" in frames[0]["result"]
    assert frames[-1]["error"]["code"] == code and words in frames[-1]["error"]["message"]
    assert sim.quota(account, "auto")["remaining"] == 20


@pytest.mark.parametrize(
    ("credential", "status"),
    [("sim-fault-401", 401), ("x-fault-cf", 403), ("x-fault-403", 403), ("x-fault-429", 429),
     ("x-fault-500", 500), ("x-fault-upload-403", 200)],
)
async def test_credential_convention_arms_request_faults(client, credential, status):
    assert (await chat(client, credential)).status_code == status


@pytest.mark.parametrize("kind", ["code7", "code8", "usage-limit"])
async def test_credential_convention_arms_inband_faults(client, kind):
    answer = await chat(client, f"sim-fault-{kind}")
    assert "error" in frames_of(answer.text)[-1]


async def test_empty_fault_sends_a_200_with_no_body(client, account, sim: SimHandle):
    sim.set_fault("empty", account=account, times=1)
    answer = await chat(client, account)
    assert answer.status_code == 200 and answer.content == b""


async def test_malformed_fault_inserts_one_unparseable_line(client, sim: SimHandle):
    answer = await chat(client, "sim-fault-malformed")
    lines = [line for line in answer.text.splitlines() if line.strip()]
    broken = []
    for line in lines:
        try:
            frames_of(line)
        except ValueError:
            broken.append(line)
    assert len(broken) == 1
    assert answer_text("\n".join(line for line in lines if line not in broken))


async def test_drop_fault_cuts_the_connection_mid_body(client, sim: SimHandle):
    with pytest.raises(httpx2.TransportError):
        await chat(client, "sim-fault-drop")


async def test_stall_fault_sends_some_frames_then_never_ends(client, sim: SimHandle):
    received = []

    async def read() -> None:
        async with client.stream("POST", CHAT, headers=grok_headers("sim-fault-stall"),
                                 json=chat_body()) as answer:
            async for line in answer.aiter_lines():
                received.append(line)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read(), timeout=0.5)
    assert any("conversation" in line for line in received)
    assert not any("modelResponse" in line for line in received)


async def test_slow_first_byte_delays_the_status_line(client, account, sim: SimHandle):
    sim.set_fault("slow-first-byte", account=account, times=1, delay_ms=300)
    started = time.monotonic()
    answer = await chat(client, account)
    assert answer.status_code == 200 and time.monotonic() - started >= 0.3


async def test_slow_tokens_spaces_the_frames(client, account, sim: SimHandle):
    sim.set_fault("slow-tokens", account=account, times=1, delay_ms=20)
    gaps = []
    async with client.stream("POST", CHAT, headers=grok_headers(account),
                             json=chat_body()) as answer:
        last = time.monotonic()
        async for _line in answer.aiter_lines():
            now = time.monotonic()
            gaps.append(now - last)
            last = now
    assert len(gaps) > 5 and sum(gaps) >= 0.02 * (len(gaps) - 2)


async def test_unknown_fault_kind_is_refused_by_the_control_api(sim: SimHandle):
    with pytest.raises(Exception, match="unknown fault kind"):
        sim.set_fault("meteor")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/rest/rate-limits", {"modelName": "auto"}),
        ("POST", "/rest/app-chat/upload-file",
         {"fileName": "a", "fileMimeType": "text/plain", "content": "YQ=="}),
        ("GET", "/rest/assets", None),
        ("DELETE", "/rest/assets-metadata/x", None),
        ("POST", "/rest/media/post/create", {"mediaType": "MEDIA_POST_TYPE_VIDEO", "prompt": "x"}),
        ("POST", "/rest/media/post/create-link", {"postId": "x", "source": "s", "platform": "web"}),
        ("POST", "/rest/media/video/upscale", {"videoId": "x"}),
        ("POST", "/rest/auth/set-birth-date", {"birthDate": "1990-01-01T16:00:00.000Z"}),
    ],
)
async def test_request_faults_act_on_every_rest_endpoint(client, sim: SimHandle, method, path,
                                                         body):
    answer = await client.request(method, path, headers=grok_headers("sim-fault-cf"), json=body)
    assert answer.status_code == 403 and "Just a moment" in answer.text
    unknown = await client.request(method, path, headers=grok_headers("nobody"), json=body)
    assert unknown.status_code == 401


@pytest.mark.parametrize(
    ("shape", "locate"),
    [
        ("top", lambda frame: frame["error"]),
        ("response", lambda frame: frame["result"]["response"]["error"]),
        ("stream_errors",
         lambda frame: frame["result"]["response"]["modelResponse"]["streamErrors"][0]),
    ],
)
async def test_inband_error_shape_is_selectable(client, account, sim: SimHandle, shape, locate):
    sim.set_fault("code7", account=account, times=1, shape=shape)
    frames = frames_of((await chat(client, account)).text)
    assert locate(frames[-1])["code"] == 7


def test_credential_convention_parses_several_faults_tier_and_quota(sim: SimHandle):
    credential = "sim-tier-heavy-quota-7-fault-slow-tokens-fault-drop"
    with pytest.raises(httpx2.TransportError):
        httpx2.post(sim.base_url + CHAT, headers=grok_headers(credential), json=chat_body())
    [account] = sim.accounts()
    assert account["tier"] == "heavy"
    assert sorted(account["standingFaults"]) == ["drop", "slow-tokens"]
    assert {q["total"] for q in account["quotas"].values()} == {7}
