"""One trace per client request: gateway → pool client → pool server → grok_web, and for a
media job gateway → queue → worker, asserted on the spans the in-memory exporter kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from grok_sim.testing import SimHandle
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from traced_stack import TracedStack, running_traced_stack

pytestmark = pytest.mark.e2e

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{CLIENT_SPAN_ID}-01"
ACQUIRE = "grok2api.tokenpool.v1.TokenPool/Acquire"
RELEASE = "grok2api.tokenpool.v1.TokenPool/Release"


@pytest.fixture
async def stack(
    spans: InMemorySpanExporter, sim: SimHandle, tmp_path: Path
) -> AsyncIterator[TracedStack]:
    async with running_traced_stack(sim=sim, data_dir=tmp_path) as running:
        yield running


def one(found: Sequence[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    matching = [s for s in found if s.name == name and s.kind == kind]
    assert len(matching) == 1, [(s.name, s.kind) for s in found]
    return matching[0]


def parent_of(span: ReadableSpan) -> int:
    assert span.parent is not None, span.name
    return span.parent.span_id


async def test_a_streamed_chat_is_one_trace_from_the_gateway_to_grok_com(
    stack: TracedStack, spans: InMemorySpanExporter
) -> None:
    await stack.add("sso-chat-account")
    stack.sim.script_reply("Hi from the simulator.")
    stream = await stack.client(traceparent=TRACEPARENT).chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hello"}], stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    found = spans.get_finished_spans()
    assert {format(s.context.trace_id, "032x") for s in found} == {TRACE_ID}
    server = one(found, "POST /v1/chat/completions", SpanKind.SERVER)
    assert format(parent_of(server), "016x") == CLIENT_SPAN_ID
    assert server.parent is not None and server.parent.is_remote
    assert server.attributes is not None
    assert server.attributes["http.request.method"] == "POST"
    assert server.attributes["http.route"] == "/v1/chat/completions"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["gen_ai.request.model"] == "grok-4"
    assert server.attributes["grok2api.account.tier"] == "super"
    assert server.attributes["grok2api.retry_count"] == 0

    for method in (ACQUIRE, RELEASE):
        client = one(found, method, SpanKind.CLIENT)
        pool_side = one(found, method, SpanKind.SERVER)
        assert parent_of(client) == server.context.span_id
        assert parent_of(pool_side) == client.context.span_id
        assert client.attributes is not None and pool_side.attributes is not None
        assert client.attributes["rpc.system"] == pool_side.attributes["rpc.system"] == "grpc"
        assert client.attributes["rpc.method"] == method.rpartition("/")[2]
        assert client.attributes["server.address"] == "127.0.0.1"
        assert pool_side.attributes["rpc.grpc.status_code"] == 0

    upstream = [s for s in found if s.kind == SpanKind.CLIENT and "rpc.system" not in
                (s.attributes or {})]
    assert upstream, "no grok_web span"
    for span in upstream:
        assert parent_of(span) == server.context.span_id
        assert span.attributes is not None
        assert span.attributes["server.address"] == "127.0.0.1"  # the simulator's grok.com
        assert "url.template" in span.attributes
    chat = [s for s in upstream if s.attributes and s.attributes.get(
        "grok2api.upstream.websocket")]
    assert len(chat) == 1  # the mgw chat turn, from handshake to close
    assert chat[0].end_time is not None and chat[0].start_time is not None


async def test_an_image_job_continues_the_request_trace_on_the_worker(
    stack: TracedStack, spans: InMemorySpanExporter
) -> None:
    await stack.add("sso-image-account")
    answer = await stack.client(traceparent=TRACEPARENT).images.generate(
        model="grok-imagine-1.0", prompt="a red fox", n=1, response_format="url")
    assert answer.data and answer.data[0].url

    found = spans.get_finished_spans()
    assert {format(s.context.trace_id, "032x") for s in found} == {TRACE_ID}
    server = one(found, "POST /v1/images/generations", SpanKind.SERVER)
    producer = one(found, "send media-jobs", SpanKind.PRODUCER)
    consumer = one(found, "process media-jobs", SpanKind.CONSUMER)
    assert parent_of(producer) == server.context.span_id
    assert parent_of(consumer) == producer.context.span_id
    assert consumer.attributes is not None and producer.attributes is not None
    assert consumer.attributes["messaging.message.id"] == producer.attributes[
        "messaging.message.id"]
    assert consumer.attributes["grok2api.job.kind"] == "image.generate"
    assert consumer.attributes["grok2api.job.outcome"] == "succeeded"
    assert consumer.attributes["gen_ai.request.model"] == "grok-imagine-1.0"

    acquire = [s for s in found if s.name == ACQUIRE and s.kind == SpanKind.CLIENT]
    assert acquire and all(parent_of(s) == consumer.context.span_id for s in acquire)
    pool_side = [s for s in found if s.name == ACQUIRE and s.kind == SpanKind.SERVER]
    assert {parent_of(s) for s in pool_side} <= {s.context.span_id for s in acquire}
    upstream = [s for s in found if s.kind == SpanKind.CLIENT and "url.template" in
                (s.attributes or {})]
    assert upstream and all(parent_of(s) == consumer.context.span_id for s in upstream)
