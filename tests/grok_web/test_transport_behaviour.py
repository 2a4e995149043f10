"""Transport behaviours against a raw loopback server: prompt cancellation, the
stream idle timeout, dropped streams, connection reuse and session lifetime."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from grok_web import ChatRequest, ImagineRequest, errors
from grok_web import events as ev
from grok_web_helpers import STREAM_HEAD, chunk, read_request

TOKEN = b'{"result":{"response":{"token":"hi","messageTag":"final"}}}\n'
END = b'{"result":{"response":{"modelResponse":{"responseId":"r","message":"hi"}}}}\n'


async def stall_after_first_token(reader, writer):
    await read_request(reader)
    writer.write(STREAM_HEAD + chunk(TOKEN))
    await writer.drain()
    # Stay silent until the client goes away; reading returns b"" on close.
    await asyncio.wait_for(reader.read(1), timeout=60)


async def test_closing_the_event_iterator_closes_the_upstream_connection(raw_server, client_for):
    server = await raw_server(stall_after_first_token)
    client = client_for(server.base_url, chat_protocol="rest")
    stream = client.chat(credential="tok", request=ChatRequest(message="hi"))
    async with contextlib.aclosing(stream):
        first = await anext(stream)
        assert first == ev.TextDelta("hi")
    await asyncio.wait_for(server.closed.wait(), timeout=10)


async def test_cancelling_the_consumer_task_closes_the_upstream_connection(raw_server, client_for):
    server = await raw_server(stall_after_first_token)
    client = client_for(server.base_url, chat_protocol="rest")
    got_first = asyncio.Event()

    async def consume():
        async for _event in client.chat(credential="tok", request=ChatRequest(message="hi")):
            got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.closed.wait(), timeout=10)


async def test_a_silent_stream_is_cut_with_a_typed_idle_timeout(raw_server, client_for):
    server = await raw_server(stall_after_first_token)
    client = client_for(
        server.base_url, chat_protocol="rest", request=10, stream_idle=0.5, video_idle=0.5
    )
    seen = []
    with pytest.raises(errors.StreamIdleTimeout) as info:
        async for event in client.chat(credential="tok", request=ChatRequest(message="hi")):
            seen.append(event)
    assert seen == [ev.TextDelta("hi")]
    assert info.value.blame == "transient"
    await asyncio.wait_for(server.closed.wait(), timeout=10)


async def test_a_dropped_stream_is_upstream_unavailable(raw_server, client_for):
    async def drop(reader, writer):
        await read_request(reader)
        writer.write(STREAM_HEAD + chunk(TOKEN))
        await writer.drain()
        writer.transport.abort()

    server = await raw_server(drop)
    client = client_for(server.base_url, chat_protocol="rest")
    with pytest.raises(errors.UpstreamUnavailable):
        async for _event in client.chat(credential="tok", request=ChatRequest(message="hi")):
            pass


async def test_connections_are_reused_across_calls(raw_server, client_for):
    async def keep_alive(reader, writer):
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(STREAM_HEAD + chunk(TOKEN + END) + b"0\r\n\r\n")
            await writer.drain()

    server = await raw_server(keep_alive)
    client = client_for(server.base_url, chat_protocol="rest")
    for _ in range(3):
        events = [e async for e in client.chat(credential="t", request=ChatRequest(message="x"))]
        assert isinstance(events[-1], ev.Final)
    assert server.connections == 1


async def test_a_closed_client_refuses_new_calls(raw_server, client_for):
    server = await raw_server(stall_after_first_token)
    client = client_for(server.base_url, chat_protocol="rest")
    await client.aclose()
    with pytest.raises(errors.UsageError):
        await client.rate_limits(credential="t", mode="auto")


async def test_connection_refused_is_upstream_unavailable(client_for):
    client = client_for("http://127.0.0.1:9")
    with pytest.raises(errors.UpstreamUnavailable):
        await client.rate_limits(credential="t", mode="auto")


async def test_giving_up_before_the_headers_still_aborts_the_transfer(raw_server, client_for):
    request_seen = asyncio.Event()

    async def slow_headers(reader, writer):
        await read_request(reader)
        request_seen.set()
        await asyncio.sleep(0.5)
        writer.write(STREAM_HEAD + chunk(TOKEN))
        await writer.drain()
        await asyncio.wait_for(reader.read(1), timeout=60)

    server = await raw_server(slow_headers)
    client = client_for(server.base_url, chat_protocol="rest")

    async def consume():
        async for _event in client.chat(credential="tok", request=ChatRequest(message="hi")):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(request_seen.wait(), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(server.closed.wait(), timeout=10)


async def test_a_silent_imagine_socket_is_cut_with_a_typed_idle_timeout(client_for):
    from websockets.asyncio.server import serve

    received: list[str] = []

    async def silent(connection):
        async for message in connection:
            received.append(message)

    async with serve(silent, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = client_for(f"http://127.0.0.1:{port}", request=10, stream_idle=0.5)
        with pytest.raises(errors.StreamIdleTimeout):
            async for _event in client.imagine(credential="t", request=ImagineRequest(prompt="p")):
                pass
    assert len(received) == 2  # reset, then the prompt


async def test_frames_of_the_wrong_shape_are_malformed(raw_server, client_for):
    async def odd(reader, writer):
        await read_request(reader)
        writer.write(
            STREAM_HEAD + chunk(b'{"result":{"response":"not an object"}}\n') + b"0\r\n\r\n"
        )
        await writer.drain()

    server = await raw_server(odd)
    client = client_for(server.base_url, chat_protocol="rest")
    with pytest.raises(errors.MalformedResponse) as info:
        async for _event in client.chat(credential="tok", request=ChatRequest(message="hi")):
            pass
    assert info.value.__cause__ is not None
