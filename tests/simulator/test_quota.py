"""Per-mode quota windows, 429 on exhaustion, refills, and `POST /rest/rate-limits` (§8)."""

from __future__ import annotations

import asyncio

import pytest
from grok_sim.testing import SimHandle
from sim_wire import chat_body, grok_headers

CHAT = "/rest/app-chat/conversations/new"
LIMITS = "/rest/rate-limits"


async def chat(client, credential):
    return await client.post(CHAT, headers=grok_headers(credential), json=chat_body())


@pytest.mark.parametrize(
    ("tier", "mode", "total", "window"),
    [
        ("basic", "auto", 20, 72000), ("basic", "fast", 60, 72000),
        ("basic", "expert", 8, 36000), ("super", "auto", 50, 7200),
        ("super", "fast", 140, 7200), ("super", "expert", 50, 7200),
        ("super", "heavy", 20, 7200), ("heavy", "auto", 150, 7200),
        ("heavy", "fast", 400, 7200), ("heavy", "expert", 150, 7200),
        ("heavy", "heavy", 20, 7200),
    ],
)
async def test_rate_limits_report_the_documented_defaults(client, sim: SimHandle, tier, mode,
                                                          total, window):
    sim.add_account("tok", tier=tier)
    answer = await client.post(LIMITS, headers=grok_headers("tok"), json={"modelName": mode})
    assert answer.status_code == 200
    assert answer.json() == {
        "windowSizeSeconds": window, "remainingQueries": total, "totalQueries": total,
        "remainingTokens": total, "lowEffortRateLimits": None, "highEffortRateLimits": None,
    }


async def test_basic_accounts_have_no_heavy_window(client, account):
    answer = await client.post(LIMITS, headers=grok_headers(account), json={"modelName": "heavy"})
    assert answer.json()["totalQueries"] == 0
    chat = await client.post(CHAT, headers=grok_headers(account), json=chat_body(mode="heavy"))
    assert chat.status_code == 403


async def test_v1_request_gets_the_older_remaining_tokens_shape(client, account):
    legacy = {"requestKind": "DEFAULT", "modelName": "grok-4-1-thinking-1129"}
    answer = await client.post(LIMITS, headers=grok_headers(account), json=legacy)
    body = answer.json()
    assert body["remainingTokens"] == 20 and body["windowSizeSeconds"] == 72000
    assert "lowEffortRateLimits" not in body


async def test_rate_limits_reject_an_unknown_mode(client, account):
    answer = await client.post(LIMITS, headers=grok_headers(account), json={"modelName": "x"})
    assert answer.status_code == 400


async def test_each_chat_charges_one_query_of_its_mode(client, account, sim: SimHandle):
    for mode in ("fast", "fast", "expert"):
        await client.post(CHAT, headers=grok_headers(account), json=chat_body(mode=mode))
    assert sim.quota(account, "fast")["remaining"] == 58
    assert sim.quota(account, "expert")["remaining"] == 7
    assert sim.quota(account, "auto")["remaining"] == 20


async def test_exhausted_window_answers_429_with_retry_after(client, sim: SimHandle):
    sim.add_account("tok", quotas={"auto": {"total": 20, "remaining": 1}})
    ok = await client.post(CHAT, headers=grok_headers("tok"), json=chat_body())
    limited = await client.post(CHAT, headers=grok_headers("tok"), json=chat_body())
    assert ok.status_code == 200
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == 8


async def test_window_refills_when_it_passes_under_the_time_scale(client, sim: SimHandle):
    sim.set_options(time_scale=36000.0)
    sim.add_account("tok", quotas={"auto": {"total": 1, "window_seconds": 7200}})
    assert (await chat(client, "tok")).status_code == 200
    limited = await chat(client, "tok")
    assert limited.status_code == 429
    await asyncio.sleep(0.25)
    assert (await chat(client, "tok")).status_code == 200


async def test_rejected_requests_are_not_charged(client, account, sim: SimHandle):
    sim.set_fault("500", account=account, times=1)
    await client.post(CHAT, headers=grok_headers(account), json=chat_body())
    assert sim.quota(account, "auto")["remaining"] == 20


async def test_imagine_quota_info_reports_every_product(client, sim: SimHandle):
    sim.add_account("tok", tier="super", quotas={"auto": {"total": 50, "remaining": 0}})
    answer = await client.post("/rest/media/imagine/quota_info",
                               headers=grok_headers("tok", Referer="https://grok.com/imagine"),
                               json={})
    body = answer.json()
    assert set(body) == {"image", "imagePro", "imageEdit", "video", "video720p"}
    assert body["image"] == {"available": True, "remainingQueries": 140,
                             "windowSizeSeconds": 7200}
    assert body["video"]["available"] is False and body["video"]["remainingQueries"] == 0
    assert body["video"]["nextAvailableAt"].endswith("Z")
