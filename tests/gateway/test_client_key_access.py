"""Client keys end to end: the openai SDK → gateway (keys, limits) → pool → simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import openai
import pytest
from gateway_stack import Stack, running_stack
from grok2api_storage.records import ClientKeyLimits, ClientKeyPatch, QuotaUnit
from grok_sim.testing import SimHandle

pytestmark = pytest.mark.e2e
USER = [{"role": "user", "content": "Hello there"}]
FRESHNESS = 1.05  # a change to a key is seen by every replica within a second


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(sim=sim, data_dir=tmp_path) as running:
        await running.add("sso-a")
        await running.add("sso-b")
        yield running


def client_for(stack: Stack, key: str) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key=key, max_retries=0)
    stack.clients.append(client)
    return client


async def ask(client: openai.AsyncOpenAI, model: str = "grok-4") -> str:
    answer = await client.chat.completions.create(model=model, messages=USER)
    return answer.choices[0].message.content or ""


async def test_the_api_is_open_until_a_key_exists_then_every_call_needs_one(
    stack: Stack,
) -> None:
    assert await ask(client_for(stack, "anything"))  # open: no master key, no client key
    created = await stack.client_keys.create(name="team")
    assert created.plain_key.startswith("g2a-")
    await asyncio.sleep(FRESHNESS)
    with pytest.raises(openai.AuthenticationError, match="Incorrect API key"):
        await ask(client_for(stack, "anything"))
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        missing = await http.get("/v1/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    assert await ask(client_for(stack, created.plain_key))


async def test_several_master_keys_and_client_keys_work_side_by_side(
    stack: Stack,
) -> None:
    stack.live.apply({"app.api_key": "sk-one, sk-two"})
    created = await stack.client_keys.create(name="team")
    for key in ("sk-one", "sk-two", created.plain_key):
        assert await ask(client_for(stack, key))
    with pytest.raises(openai.AuthenticationError):
        await ask(client_for(stack, "sk-three"))


@pytest.mark.parametrize("change", ["revoke", "disable", "expire"])
async def test_revoked_disabled_and_expired_keys_are_refused_within_a_second(
    stack: Stack, change: str
) -> None:
    created = await stack.client_keys.create(name="team")
    client = client_for(stack, created.plain_key)
    assert await ask(client)
    key_id = created.record.id
    if change == "revoke":
        await stack.client_keys.revoke(key_id)
    elif change == "disable":
        await stack.client_keys.update(key_id, ClientKeyPatch(enabled=False))
    else:
        soon = datetime.now(UTC) + timedelta(milliseconds=200)
        await stack.client_keys.update(key_id, ClientKeyPatch(expires_at=soon))
    await asyncio.sleep(FRESHNESS)
    word = {"revoke": "revoked", "disable": "disabled", "expire": "expired"}[change]
    with pytest.raises(openai.AuthenticationError) as caught:
        await ask(client)
    assert caught.value.code == f"api_key_{word}"
    assert word in caught.value.message


async def test_a_model_outside_the_allowlist_is_403_naming_it(stack: Stack) -> None:
    created = await stack.client_keys.create(
        name="team", limits=ClientKeyLimits(allowed_models=("grok-4",))
    )
    client = client_for(stack, created.plain_key)
    assert await ask(client, "grok-4")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        await ask(client, "grok-3")
    assert caught.value.code == "model_not_allowed"
    assert "grok-3" in caught.value.message
    listed = [model.id async for model in client.models.list()]
    assert listed == ["grok-4"]


async def test_requests_per_minute_answers_429_with_retry_after_and_the_limit(
    stack: Stack,
) -> None:
    created = await stack.client_keys.create(
        name="team", limits=ClientKeyLimits(rate_limit_per_minute=3)
    )
    client = client_for(stack, created.plain_key)
    for _ in range(3):
        assert await ask(client)
    with pytest.raises(openai.RateLimitError) as caught:
        await ask(client)
    response = caught.value.response
    assert caught.value.code == "rate_limit_exceeded"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-grok2api-limit"] == "requests_per_minute"
    assert "requests_per_minute" in caught.value.message


async def test_concurrent_requests_are_capped_and_a_slot_frees_when_a_stream_ends(
    stack: Stack,
) -> None:
    created = await stack.client_keys.create(name="team", limits=ClientKeyLimits(max_concurrent=1))
    client = client_for(stack, created.plain_key)
    stack.sim.set_fault("slow-first-byte", delay_ms=1500, times=1)
    slow = asyncio.ensure_future(ask(client))
    for _ in range(500):  # until the first request reached the upstream (either generation)
        if stack.sim.requests(path="/rest/app-chat/conversations/new") or stack.sim.requests(
            path="/ws/mgw/"
        ):
            break
        await asyncio.sleep(0.02)
    with pytest.raises(openai.RateLimitError) as caught:
        await ask(client)
    assert caught.value.response.headers["x-grok2api-limit"] == "concurrent_requests"
    assert await slow
    assert await ask(client)  # the slot came back when the first answer ended


async def test_a_client_that_leaves_mid_stream_gives_its_slot_back(stack: Stack) -> None:
    created = await stack.client_keys.create(name="team", limits=ClientKeyLimits(max_concurrent=1))
    stack.sim.set_fault("slow-tokens", delay_ms=200)
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        headers = {"authorization": f"Bearer {created.plain_key}"}
        body = {"model": "grok-4", "messages": USER, "stream": True}
        async with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            assert r.status_code == 200
            async for _line in r.aiter_lines():
                break  # leave after the first line
    stack.sim.clear_faults()
    for _ in range(50):  # the server notices the disconnect on its next write
        try:
            assert await ask(client_for(stack, created.plain_key))
            break
        except openai.RateLimitError:
            await asyncio.sleep(0.1)
    else:
        pytest.fail("the slot of a client that left was never given back")


async def test_a_daily_quota_in_cost_units_is_never_overspent(stack: Stack) -> None:
    # grok-4.1-thinking costs 4 units and grok-4 one: a 9-unit day holds two of the first
    # and one of the second, whatever the order the concurrent requests arrive in.
    created = await stack.client_keys.create(
        name="team", limits=ClientKeyLimits(quota_unit=QuotaUnit.COST, daily_quota=9)
    )
    client = client_for(stack, created.plain_key)
    thinking = await asyncio.gather(
        *(ask(client, "grok-4.1-thinking") for _ in range(4)), return_exceptions=True
    )
    refused = [r for r in thinking if isinstance(r, openai.RateLimitError)]
    assert len(thinking) - len(refused) == 2
    assert all(r.code == "insufficient_quota" for r in refused)
    assert refused[0].response.headers["x-grok2api-limit"] == "daily_quota"
    assert await ask(client, "grok-4")  # the ninth unit
    with pytest.raises(openai.RateLimitError):
        await ask(client, "grok-4")


async def test_a_failed_request_gives_its_quota_back(stack: Stack) -> None:
    created = await stack.client_keys.create(name="team", limits=ClientKeyLimits(daily_quota=1))
    client = client_for(stack, created.plain_key)
    stack.sim.set_fault("500")  # every account fails: the request fails
    with pytest.raises(openai.APIStatusError):
        await ask(client)
    stack.sim.clear_faults()
    assert await ask(client)  # the failed one did not spend the day's request


async def test_every_request_leaves_a_record_without_secrets_or_prompts(
    sim: SimHandle, tmp_path: Path
) -> None:
    async with running_stack(sim=sim, data_dir=tmp_path, usage=True) as stack:
        await stack.add("sso-secret-credential", tier="super")
        created = await stack.client_keys.create(
            name="team",
            limits=ClientKeyLimits(allowed_models=("grok-4",), rate_limit_per_minute=3),
        )
        client = client_for(stack, created.plain_key)
        assert await ask(client)
        streamed = await client.chat.completions.create(model="grok-4", messages=USER, stream=True)
        assert "".join([c.choices[0].delta.content or "" async for c in streamed if c.choices])
        with pytest.raises(openai.PermissionDeniedError):
            await ask(client, "grok-3")
        assert await ask(client)  # the third request of the minute
        with pytest.raises(openai.RateLimitError):
            await ask(client)
        assert await stack.usage_log.flush()
        found = await stack.store.usage.list()

    by_time = sorted(found, key=lambda record: record.timestamp)
    assert [(r.model, r.status, r.error_code) for r in by_time] == [
        ("grok-4", 200, None),
        ("grok-4", 200, None),
        ("grok-3", 403, "model_not_allowed"),
        ("grok-4", 200, None),
        ("grok-4", 429, "rate_limit_exceeded"),
    ]
    assert {r.key_id for r in found} == {created.record.id}
    assert {r.endpoint for r in found} == {"/v1/chat/completions"}
    answered = [r for r in by_time if r.status == 200]
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in answered)
    assert all(r.cost_units == 1 and r.account_tier == "super" for r in answered)
    assert all(r.latency_ms > 0 for r in found)
    assert answered[1].ttft_ms is not None and answered[0].ttft_ms is None
    assert len({r.id for r in found}) == 5 and all(r.request_id for r in found)
    text = repr(found)
    for secret in (created.plain_key, "sso-secret-credential", "Hello there"):
        assert secret not in text
