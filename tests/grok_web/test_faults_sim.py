"""Each simulator fault surfaces as the documented exception class and blame."""

from __future__ import annotations

import pytest
from grok_web import ChatRequest, ImagineRequest, errors
from grok_web import events as ev
from grok_web.options import CHAT_PROTOCOLS
from grok_web_helpers import collect

SECRET_PART = "s3cr3t-value-0123456789"


def chat(grok, credential: str):
    return collect(grok.chat(credential=credential, request=ChatRequest(message="hi")))


@pytest.mark.parametrize(
    ("fault", "expected", "blame"),
    [
        ("401", errors.InvalidCredential, "account"),
        ("cf", errors.CloudflareChallenge, "egress"),
        ("403", errors.Forbidden, "account"),
        ("429", errors.RateLimited, "account"),
        ("500", errors.UpstreamUnavailable, "transient"),
        ("502", errors.UpstreamUnavailable, "transient"),
        ("503", errors.UpstreamUnavailable, "transient"),
        ("code7", errors.AntiBotRejected, "egress"),
        ("code8", errors.RateLimited, "account"),
        ("usage-limit", errors.RateLimited, "account"),
        ("drop", errors.UpstreamUnavailable, "transient"),
        ("empty", errors.EmptyStream, "transient"),
    ],
)
async def test_chat_faults_raise_typed_errors(sim, chat_grok, fault, expected, blame):
    credential = f"sim-{SECRET_PART}-fault-{fault}"
    with pytest.raises(expected) as info:
        await chat(chat_grok, credential)
    assert type(info.value) is expected
    assert info.value.blame == blame
    assert SECRET_PART not in str(info.value) and SECRET_PART not in repr(info.value)
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, Exception)


async def test_unknown_credentials_are_invalid(sim, chat_grok):
    with pytest.raises(errors.InvalidCredential):
        await chat(chat_grok, "not-a-known-session")


async def test_rate_limited_carries_the_retry_after_seconds(sim, chat_grok):
    sim.add_account("sim-ra")
    sim.set_fault("429", account="sim-ra", times=1, retry_after=42)
    with pytest.raises(errors.RateLimited) as info:
        await chat(chat_grok, "sim-ra")
    assert info.value.retry_after == 42
    assert isinstance((await chat(chat_grok, "sim-ra"))[-1], ev.Final)


async def test_transport_errors_chain_their_cause(sim, chat_grok):
    with pytest.raises(errors.UpstreamUnavailable) as info:
        await chat(chat_grok, "sim-fault-drop")
    assert info.value.__cause__ is not None


@pytest.mark.parametrize("protocol", CHAT_PROTOCOLS)
async def test_a_stalled_stream_is_cut_by_the_idle_timeout(sim, client_for, protocol):
    grok = client_for(
        sim.base_url, chat_protocol=protocol, request=10, stream_idle=0.5, video_idle=0.5
    )
    events = []
    with pytest.raises(errors.StreamIdleTimeout):
        async for event in grok.chat(
            credential="sim-fault-stall", request=ChatRequest(message="x")
        ):
            events.append(event)
    assert events  # frames before the stall were delivered


@pytest.mark.parametrize("protocol", CHAT_PROTOCOLS)
async def test_a_stream_without_a_first_byte_is_cut_by_the_first_byte_timeout(
    sim, client_for, protocol
):
    grok = client_for(
        sim.base_url, chat_protocol=protocol, request=10, stream_idle=10, first_byte=0.3
    )
    sim.add_account("sim-silent")
    sim.set_fault("stall", account="sim-silent", after_frames=0)
    with pytest.raises(errors.FirstByteTimeout) as info:
        await chat(grok, "sim-silent")
    assert info.value.blame == "transient"


@pytest.mark.parametrize("protocol", CHAT_PROTOCOLS)
async def test_headers_later_than_the_first_byte_timeout_are_not_waited_for(
    sim, client_for, protocol
):
    grok = client_for(
        sim.base_url, chat_protocol=protocol, request=10, stream_idle=10, first_byte=0.3
    )
    sim.add_account("sim-late")
    sim.set_fault("slow-first-byte", account="sim-late", delay_ms=3000)
    with pytest.raises(errors.FirstByteTimeout):
        await chat(grok, "sim-late")


@pytest.mark.parametrize("protocol", CHAT_PROTOCOLS)
async def test_the_first_byte_timeout_does_not_cut_a_slow_stream_once_started(
    sim, client_for, protocol
):
    grok = client_for(
        sim.base_url, chat_protocol=protocol, request=10, stream_idle=10, first_byte=0.3
    )
    sim.add_account("sim-trickle")
    sim.set_fault("slow-tokens", account="sim-trickle", times=1, delay_ms=400)
    events = await chat(grok, "sim-trickle")
    assert isinstance(events[-1], ev.Final)


async def test_slow_streams_still_complete(sim, chat_grok):
    sim.set_options(token_delay_ms=0)
    sim.add_account("sim-slow")
    sim.set_fault("slow-first-byte", account="sim-slow", times=1, delay_ms=300)
    sim.set_fault("slow-tokens", account="sim-slow", times=1, delay_ms=5)
    events = await chat(chat_grok, "sim-slow")
    assert isinstance(events[-1], ev.Final) and events[-1].message


async def test_a_malformed_line_is_skipped_and_the_turn_completes(sim, chat_grok):
    sim.script_reply("Still whole.", account="sim-fault-malformed")
    events = await chat(chat_grok, "sim-fault-malformed")
    assert events[-1].message == "Still whole."


async def test_upload_403_is_forbidden(sim, grok):
    with pytest.raises(errors.Forbidden):
        await grok.upload_file(
            credential="sim-fault-upload-403",
            file_name="a.txt",
            mime_type="text/plain",
            content=b"a",
        )


async def test_imagine_without_final_is_content_blocked(sim, client_for):
    grok = client_for(sim.base_url)  # blocked_seconds=2 in the test options
    events = []
    with pytest.raises(errors.ContentBlocked) as info:
        async for event in grok.imagine(
            credential="sim-fault-imagine-no-final", request=ImagineRequest(prompt="x", count=1)
        ):
            events.append(event)
    assert info.value.blame == "account"
    assert any(isinstance(e, ev.ImageProgress) and e.stage == "medium" for e in events)


async def test_imagine_moderated_is_content_blocked(sim, grok):
    with pytest.raises(errors.ContentBlocked):
        await collect(
            grok.imagine(credential="sim-fault-moderated", request=ImagineRequest(prompt="x"))
        )


async def test_imagine_handshake_rate_limit_is_typed(sim, grok):
    with pytest.raises(errors.RateLimited):
        await collect(grok.imagine(credential="sim-fault-429", request=ImagineRequest(prompt="x")))


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("401", errors.InvalidCredential),
        ("429", errors.RateLimited),
        ("500", errors.UpstreamUnavailable),
    ],
)
async def test_grpc_web_faults_come_from_the_trailer(sim, grok, fault, expected):
    with pytest.raises(expected):
        await grok.set_nsfw(credential=f"sim-fault-{fault}", enabled=True)


async def test_a_non_json_answer_is_malformed(raw_server, client_for):
    from grok_web_helpers import read_request

    async def html(reader, writer):
        await read_request(reader)
        body = b"<html>maintenance</html>"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()

    server = await raw_server(html)
    grok = client_for(server.base_url, chat_protocol="rest")
    with pytest.raises(errors.MalformedResponse):
        await grok.rate_limits(credential="t", mode="auto")
