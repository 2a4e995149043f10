"""``grok2api_gateway_*`` after real traffic: the openai SDK against the gateway app, the
token pool and GrokClient against the simulator. Counts are read as differences: the
registry is the process's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import httpx2
import openai
import pytest
from gateway_stack import Stack, running_stack
from grok_sim.testing import SimHandle
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "Hello there"}]


def value(name: str, **labels: str) -> float:
    """The sum of ``name`` over every label set carrying ``labels``: labels left out (an
    upstream request's ``egress``, say) are summed over, as in PromQL's ``sum by``."""
    return sum(
        sample.value
        for family in REGISTRY.collect() for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )  # fmt: skip


def label_values(metric: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in REGISTRY.collect() for sample in family.samples
        if sample.name == metric and label in sample.labels
    }  # fmt: skip


class Since:
    """Sample values (summed as ``value`` sums them) relative to when this was made."""

    def __init__(self, *keys: tuple[str, dict[str, str]]):
        self._before = {self._key(name, labels): value(name, **labels) for name, labels in keys}

    @staticmethod
    def _key(name: str, labels: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
        return name, tuple(sorted(labels.items()))

    def __call__(self, name: str, **labels: str) -> float:
        return value(name, **labels) - self._before.get(self._key(name, labels), 0.0)


def requests_key(route: str, model: str, status: str) -> tuple[str, dict[str, str]]:
    return "grok2api_gateway_requests_total", {"route": route, "model": model, "status": status}


def duration_key(route: str, model: str) -> tuple[str, dict[str, str]]:
    return "grok2api_gateway_request_duration_seconds_count", {"route": route, "model": model}


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(
        sim=sim, data_dir=tmp_path, network={"chat_protocol": "rest"}
    ) as running:
        await running.add("sso-metrics-a")
        await running.add("sso-metrics-b")
        yield running


async def test_every_request_counts_under_its_route_template_model_and_status(
    stack: Stack,
) -> None:
    keys = [
        requests_key(CHAT, "grok-4", "200"), duration_key(CHAT, "grok-4"),
        requests_key("/v1/models", "", "200"), requests_key("/v1/models/{model_id}", "", "404"),
        requests_key("/v1/videos/{video_id}", "", "503"), requests_key("other", "", "404"),
        requests_key(CHAT, "other", "404"), requests_key(CHAT, "", "405"),
    ]  # fmt: skip
    since = Since(*keys)
    client = stack.client()
    await client.chat.completions.create(model="grok-4", messages=USER)
    chunks = await client.chat.completions.create(model="grok-4", messages=USER, stream=True)
    assert [chunk async for chunk in chunks]
    await client.models.list()
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("made-up-model-7")
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(model="made-up-model-7", messages=USER)
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        assert (await http.get("/v1/videos/video_0123abcd")).status_code == 503
        assert (await http.get("/v1/no-such/route-1")).status_code == 404
        assert (await http.get("/v1/no-such/route-2")).status_code == 404
        assert (await http.get(CHAT)).status_code == 405
    assert [since(name, **labels) for name, labels in keys] == [2, 2, 1, 1, 1, 2, 1, 1]
    # Bounded: no raw path, id or unknown model became a label value.
    routes = label_values("grok2api_gateway_requests_total", "route")
    models = label_values("grok2api_gateway_requests_total", "model")
    assert not [r for r in routes if "no-such" in r or "0123abcd" in r or "made-up" in r]
    assert "made-up-model-7" not in models


async def test_a_stream_is_timed_to_its_end_and_its_first_token(stack: Stack) -> None:
    stack.sim.script_reply("one two three four five six")
    stack.sim.set_fault("slow-tokens", times=1, delay_ms=40)  # a pause between chunks
    since = Since(
        ("grok2api_gateway_request_duration_seconds_sum", {"route": CHAT, "model": "grok-4"}),
        ("grok2api_gateway_time_to_first_token_seconds_count", {"model": "grok-4"}),
        ("grok2api_gateway_time_to_first_token_seconds_sum", {"model": "grok-4"}),
    )
    chunks = await stack.client().chat.completions.create(
        model="grok-4", messages=USER, stream=True
    )
    assert [chunk async for chunk in chunks]
    assert since("grok2api_gateway_time_to_first_token_seconds_count", model="grok-4") == 1
    first = since("grok2api_gateway_time_to_first_token_seconds_sum", model="grok-4")
    whole = since("grok2api_gateway_request_duration_seconds_sum", route=CHAT, model="grok-4")
    assert 0 < first < whole  # the first chunk came before the end of the body


async def test_streamed_tokens_are_the_usage_completion_tokens(stack: Stack) -> None:
    since = Since(("grok2api_gateway_streamed_tokens_total", {"model": "grok-4"}))
    chunks = await stack.client().chat.completions.create(
        model="grok-4", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    usage = [chunk.usage async for chunk in chunks if chunk.usage is not None]
    assert usage and usage[0].completion_tokens > 0
    assert since("grok2api_gateway_streamed_tokens_total", model="grok-4") == (
        usage[0].completion_tokens
    )
    # A plain answer is not a stream: its tokens are not counted here.
    await stack.client().chat.completions.create(model="grok-4", messages=USER)
    assert since("grok2api_gateway_streamed_tokens_total", model="grok-4") == (
        usage[0].completion_tokens
    )


async def test_a_failed_attempt_and_the_account_switch_are_counted(stack: Stack) -> None:
    attempts = "grok2api_gateway_upstream_attempts_total"
    switches = "grok2api_gateway_account_switches_total"
    upstream = "grok2api_upstream_requests_total"
    since = Since(
        (attempts, {"outcome": "rate_limited", "retried": "true"}),
        (switches, {"model": "grok-4"}),
        (upstream, {"operation": "chat", "outcome": "rate_limited"}),
        (upstream, {"operation": "chat", "outcome": "ok"}),
        (upstream, {"operation": "chat", "outcome": "ok", "egress": "default"}),
    )
    # Whichever account is leased first answers 429 once; the request moves to the other.
    stack.sim.set_fault("429", times=1, path="/rest/app-chat/conversations")
    answer = await stack.client().chat.completions.create(model="grok-4", messages=USER)
    assert answer.choices[0].message.content
    assert since(attempts, outcome="rate_limited", retried="true") == 1
    assert since(switches, model="grok-4") == 1
    assert since(upstream, operation="chat", outcome="rate_limited") == 1
    assert since(upstream, operation="chat", outcome="ok") == 1
    assert since(upstream, operation="chat", outcome="ok", egress="default") == 1  # no pool's
    # A request served by its first account is no switch.
    await stack.client().chat.completions.create(model="grok-4", messages=USER)
    assert since(switches, model="grok-4") == 1


async def test_no_key_credential_or_prompt_reaches_the_exposition(stack: Stack) -> None:
    stack.live.apply({"app.api_key": "sk-master-metrics-secret"})
    created = await stack.client_keys.create(name="team-metrics")
    prompt = "the secret prompt zebra-8841"
    for key in ("sk-master-metrics-secret", created.plain_key):
        client = openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key=key, max_retries=0)
        stack.clients.append(client)
        await client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": prompt}]
        )
        chunks = await client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": prompt}], stream=True
        )
        assert [chunk async for chunk in chunks]
    wrong = openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key="sk-wrong-7731",
                               max_retries=0)  # fmt: skip
    stack.clients.append(wrong)
    with pytest.raises(openai.AuthenticationError):
        await wrong.models.list()
    text = generate_latest(REGISTRY).decode()
    assert 'status="401"' in text
    account_ids = list(stack.ids.values())
    for secret in ("sk-master-metrics-secret", created.plain_key, created.record.id,
                   "sk-wrong-7731", "sso-metrics-a", "sso-metrics-b", "zebra-8841",
                   *account_ids):  # fmt: skip
        assert secret not in text


class _Only(Collector):
    """The families of ``registry`` whose names start with one of ``prefixes``."""

    def __init__(self, prefixes: Iterable[str]):
        self._prefixes = tuple(prefixes)

    def collect(self):  # type: ignore[no-untyped-def]
        return [f for f in REGISTRY.collect() if f.name.startswith(self._prefixes)]


async def test_promtool_accepts_the_gateway_and_upstream_families(
    stack: Stack, check_metrics: Callable[[bytes], None]
) -> None:
    await stack.client().chat.completions.create(model="grok-4", messages=USER)
    async with httpx2.AsyncClient(base_url=stack.base_url) as http:
        await http.get("/v1/models")
    registry = CollectorRegistry()
    registry.register(_Only(("grok2api_gateway_", "grok2api_upstream_")))
    exposition = generate_latest(registry)
    assert b"grok2api_gateway_requests_total" in exposition
    await asyncio.to_thread(check_metrics, exposition)
