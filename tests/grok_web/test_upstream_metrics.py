"""``grok2api_upstream_*``: every GrokClient operation counted by outcome class and timed,
against the simulator (and a closed port for a network failure)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from grok_web import ChatRequest, ImagineRequest, errors, metrics
from grok_web_helpers import collect
from prometheus_client import REGISTRY


def count(operation: str, outcome: str) -> float:
    labels = {"operation": operation, "outcome": outcome, "egress": "default"}
    return REGISTRY.get_sample_value("grok2api_upstream_requests_total", labels) or 0.0


def timed(operation: str) -> float:
    name = "grok2api_upstream_request_duration_seconds_count"
    return REGISTRY.get_sample_value(name, {"operation": operation, "egress": "default"}) or 0.0


class Deltas:
    """Counts of ``(operation, outcome)`` since this object was made."""

    def __init__(self) -> None:
        self._before = {
            (op, outcome): count(op, outcome)
            for op in metrics.OPERATIONS for outcome in metrics.OUTCOMES
        }  # fmt: skip
        self._timed = {op: timed(op) for op in metrics.OPERATIONS}

    def changed(self) -> dict[tuple[str, str], float]:
        now = {key: count(*key) - before for key, before in self._before.items()}
        return {key: delta for key, delta in now.items() if delta}

    def timed(self, operation: str) -> float:
        return timed(operation) - self._timed[operation]


async def test_each_operation_counts_once_as_ok_and_is_timed(sim, chat_grok) -> None:
    deltas = Deltas()
    await collect(chat_grok.chat(credential="sim-m-chat", request=ChatRequest(message="hi")))
    await collect(chat_grok.chat_batches(credential="sim-m-chat", request=ChatRequest(message="x")))
    await chat_grok.rate_limits(credential="sim-m-usage", mode="auto")
    uploaded = await chat_grok.upload_file(
        credential="sim-m-files", file_name="a.png", mime_type="image/png", content=b"\x89PNG"
    )
    await collect(chat_grok.download_asset(credential="sim-m-files", path=uploaded.file_uri))
    await chat_grok.list_assets(credential="sim-m-files")
    await collect(chat_grok.imagine(
        credential="sim-m-imagine", request=ImagineRequest(prompt="a lighthouse", count=1)
    ))  # fmt: skip
    await chat_grok.create_media_post(
        credential="sim-m-media", media_type="MEDIA_POST_TYPE_IMAGE", prompt="a cat"
    )
    await chat_grok.accept_tos(credential="sim-m-account")
    assert deltas.changed() == {
        ("chat", "ok"): 2, ("usage", "ok"): 1, ("upload", "ok"): 1, ("asset", "ok"): 2,
        ("imagine", "ok"): 1, ("media", "ok"): 1, ("account", "ok"): 1,
    }  # fmt: skip
    assert deltas.timed("chat") == 2 and deltas.timed("asset") == 2


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [("429", "rate_limited"), ("401", "unauthorized"), ("cf", "challenge"),
     ("404", "client_error"), ("500", "server_error"), ("code8", "rate_limited")],
)  # fmt: skip
async def test_a_failed_chat_counts_under_its_outcome_class(
    sim, chat_grok, fault: str, outcome: str
) -> None:
    credential = f"sim-m-fault-{fault}"
    sim.add_account(credential, tier="basic")
    sim.set_fault(fault, account=credential)
    deltas = Deltas()
    with pytest.raises(errors.UpstreamError):
        await collect(chat_grok.chat(credential=credential, request=ChatRequest(message="hi")))
    assert deltas.changed() == {("chat", outcome): 1}
    assert deltas.timed("chat") == 1


async def test_a_stalled_answer_counts_as_a_timeout(sim, client_for) -> None:
    grok = client_for(sim.base_url, chat_protocol="rest", stream_idle=0.3, first_byte=0.3)
    sim.add_account("sim-m-stall", tier="basic")
    sim.set_fault("stall", account="sim-m-stall", after_frames=0)
    deltas = Deltas()
    with pytest.raises(errors.StreamIdleTimeout):
        await collect(grok.chat(credential="sim-m-stall", request=ChatRequest(message="hi")))
    assert deltas.changed() == {("chat", "timeout"): 1}


async def test_an_upstream_nobody_answers_counts_as_network(client_for) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    grok = client_for(f"http://127.0.0.1:{port}")
    deltas = Deltas()
    with pytest.raises(errors.UpstreamUnavailable):
        await grok.rate_limits(credential="sim-m-none", mode="auto")
    assert deltas.changed() == {("usage", "network"): 1}


async def test_a_stream_its_consumer_closes_counts_as_cancelled(sim, chat_grok) -> None:
    sim.script_reply("one two three four five", account="sim-m-close")
    deltas = Deltas()
    stream = chat_grok.chat(credential="sim-m-close", request=ChatRequest(message="hi"))
    await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert deltas.changed() == {("chat", "cancelled"): 1}


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (errors.InvalidCredential("x", status=401), "unauthorized"),
        (errors.RateLimited("x", status=429), "rate_limited"),
        (errors.CloudflareChallenge("x", status=403), "challenge"),
        (errors.AntiBotRejected("x", code=7), "challenge"),
        (errors.ProductUnavailable("x", status=403), "client_error"),
        (errors.ContentBlocked("x"), "client_error"),
        (errors.NotFound("x", status=404), "client_error"),
        (errors.UnknownModel("x"), "client_error"),
        (errors.UpstreamUnavailable("x", status=503), "server_error"),
        (errors.UpstreamUnavailable("in-band", code=13), "server_error"),
        (errors.UpstreamUnavailable("reset"), "network"),
        (errors.EmptyStream("x"), "server_error"),
        (errors.MalformedResponse("x"), "server_error"),
        (errors.FirstByteTimeout("x"), "timeout"),
        (errors.StreamIdleTimeout("x"), "timeout"),
        (GeneratorExit(), "cancelled"),
        (RuntimeError("a bug"), "server_error"),
    ],
)
def test_outcome_classes_come_from_the_exception_alone(
    error: BaseException, outcome: str
) -> None:
    assert metrics.outcome_of(error) == outcome
    assert outcome in metrics.OUTCOMES


def test_every_series_exists_before_any_call() -> None:
    names: Callable[[str], set[tuple[str, str]]] = lambda metric: {  # noqa: E731
        (s.labels["operation"], s.labels.get("outcome", ""))
        for family in REGISTRY.collect() for s in family.samples if s.name == metric
    }
    assert len(names("grok2api_upstream_requests_total")) == (
        len(metrics.OPERATIONS) * len(metrics.OUTCOMES)
    )
