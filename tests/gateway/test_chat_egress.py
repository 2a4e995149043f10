"""A lease's egress carries the chat: the real GrokClient against the simulator, the
lease's proxy (a forwarding proxy recording what passed), its user agent and clearance
cookies at the simulator; with fakes, the attempt's uploads and the Anthropic Messages and
Responses fronts get the same egress; a challenge releases as the egress's fault and the
request moves on without blaming any account."""

from __future__ import annotations

import sys
from pathlib import Path

import anthropic
import openai
import pytest
from gateway.app import create_app
from gateway_fakes import FakePool, Gateway, reply, serve, text_reply
from grok2api_poolclient import egress as lease_egress
from grok2api_poolclient import leases
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok_web import GrokClient
from grok_web import errors as grok_errors
from grok_web.options import ClientOptions

sys.path.insert(0, str(Path(__file__).parents[1] / "grok_web"))
import forwarding_proxy  # the grok_web tests' minimal proxy

EU = leases.EgressRoute(
    egress_id="eg-1", name="eu-1", proxy_url="http://px:px-secret@127.0.0.1:9", browser="chrome131",
    user_agent="Mozilla/5.0 eu-1", clearance_cookies="cf_clearance=cf-eu-1-value",
)  # fmt: skip
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


@pytest.mark.parametrize("protocol", ["mgw", "rest"])
async def test_a_lease_with_an_egress_sends_the_chat_through_it(sim, protocol) -> None:
    proxy = await forwarding_proxy.start(username="px", password="px-secret")
    sim.add_account("cred-acct-1")
    pool = FakePool(accounts=["acct-1"])
    pool.egresses["acct-1"] = leases.EgressRoute(
        egress_id="eg-1", name="eu-1", proxy_url=proxy.url, browser="chrome131",
        user_agent=UA, clearance_cookies="cf_clearance=cf-eu-1-value; __cf_bm=bm-eu-1",
    )  # fmt: skip
    live = LiveSettings(Settings.model_validate({
        "network": {"base_url": sim.base_url, "assets_url": sim.base_url,
                    "chat_protocol": protocol},
        "retry": {"retry_backoff_base": 0.0},
    }))  # fmt: skip
    grok = GrokClient(options=ClientOptions.from_settings(live.current))
    app = create_app(settings=live, pool=pool, grok=grok, client_keys=None)
    try:
        async with serve(app) as base_url:
            async with openai.AsyncOpenAI(
                base_url=base_url + "/v1", api_key="sk-test", max_retries=0
            ) as client:
                answer = await client.chat.completions.create(
                    model="grok-4", messages=[{"role": "user", "content": "Hi"}]
                )
    finally:
        await grok.aclose()
        await proxy.close()
    assert answer.choices[0].message.content
    assert pool.outcomes() == [("acct-1", leases.Outcome.SUCCESS)]
    if protocol == "mgw":
        assert any(line.startswith("CONNECT ") for line in proxy.seen)  # the WebSocket
    else:
        assert "POST /rest/app-chat/conversations/new" in proxy.seen
    upstream = [r for r in sim.requests() if "sso=cred-acct-1" in r["headers"].get("cookie", "")]
    assert upstream
    for record in upstream:
        headers = {k.lower(): v for k, v in record["headers"].items()}
        assert headers["user-agent"] == UA
        assert "cf_clearance=cf-eu-1-value; __cf_bm=bm-eu-1" in headers["cookie"]


async def test_a_challenge_moves_on_even_when_403_is_not_a_retried_status(gateway) -> None:
    gateway.live.apply({"retry.retry_status_codes": [429]})
    gateway.pool.egresses["acct-1"] = leases.EgressRoute(egress_id="eg-1", name="eu-1")
    gateway.grok.scripts["cred-acct-1"] = reply(grok_errors.CloudflareChallenge("cf", status=403))
    gateway.grok.scripts["*"] = text_reply("fine")
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hi"}]
    )
    assert answer.choices[0].message.content == "fine"
    assert gateway.pool.outcomes() == [
        ("acct-1", leases.Outcome.CHALLENGE), ("acct-2", leases.Outcome.SUCCESS),
    ]  # fmt: skip
    first, second = gateway.grok.egresses
    assert first is not None and first.name == "eu-1" and first.egress_id == "eg-1"
    assert second is None  # acct-2 has no egress of its own: the settings' apply


async def test_the_attempts_uploads_leave_through_its_egress_too(gateway: Gateway) -> None:
    gateway.pool.egresses["acct-1"] = EU
    await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is this?"}, IMAGE, IMAGE,
        ]}],
    )  # fmt: skip
    expected = lease_egress.from_route(EU)
    assert gateway.grok.upload_egresses == [expected, expected]
    assert gateway.grok.egresses == [expected]


async def test_a_retry_on_another_account_takes_that_accounts_egress(gateway: Gateway) -> None:
    us = leases.EgressRoute(egress_id="eg-2", name="us-1")
    gateway.pool.egresses.update({"acct-1": EU, "acct-2": us})
    gateway.grok.scripts["cred-acct-1"] = reply(grok_errors.CloudflareChallenge("cf", status=403))
    await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": [IMAGE]}]
    )
    assert [e.name for e in gateway.grok.upload_egresses] == ["eu-1", "us-1"]
    assert [e.name for e in gateway.grok.egresses] == ["eu-1", "us-1"]


async def test_the_messages_and_responses_fronts_pass_the_egress(gateway: Gateway) -> None:
    gateway.pool.egresses["acct-1"] = EU
    async with anthropic.AsyncAnthropic(
        base_url=gateway.base_url, api_key="sk-test", max_retries=0
    ) as claude:
        await claude.messages.create(
            model="grok-4", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        )
    await gateway.client().responses.create(model="grok-4", input="Hi")
    assert gateway.grok.egresses == [lease_egress.from_route(EU)] * 2


async def test_a_challenge_on_every_attempt_answers_503_naming_the_egress(gateway: Gateway) -> None:
    gateway.pool.egresses.update(dict.fromkeys(("acct-1", "acct-2", "acct-3"), EU))
    gateway.grok.scripts["*"] = reply(grok_errors.CloudflareChallenge("cf", status=403))
    with pytest.raises(openai.APIStatusError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}]
        )
    assert caught.value.status_code == 503
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "upstream_challenge"
    assert error["type"] == "upstream_error"
    assert "Cloudflare challenge through egress eu-1" in error["message"]
    assert "retry shortly" in error["message"]
    assert "127.0.0.1" not in error["message"] and "px-secret" not in error["message"]


async def test_the_messages_front_says_the_same_in_anthropics_shape(gateway: Gateway) -> None:
    gateway.pool.egresses.update(dict.fromkeys(("acct-1", "acct-2", "acct-3"), EU))
    gateway.grok.scripts["*"] = reply(grok_errors.CloudflareChallenge("cf", status=403))
    async with anthropic.AsyncAnthropic(
        base_url=gateway.base_url, api_key="sk-test", max_retries=0
    ) as claude:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await claude.messages.create(
                model="grok-4", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
            )
    assert caught.value.status_code == 503
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "Cloudflare challenge through egress eu-1" in body["error"]["message"]
