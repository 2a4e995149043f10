"""``responses.EventStream`` at the ASGI level: which messages reach the server, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway import errors
from gateway.chat import chunks
from gateway.responses import EventStream

SCOPE = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}


async def _never_disconnects() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def _run(body: AsyncIterator[bytes]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await EventStream(body, keepalive=30)(SCOPE, _never_disconnects, send)
    return sent


async def test_the_done_chunk_ends_the_response_in_the_same_write() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield b"data: 2\n\n" + chunks.DONE

    sent = await _run(body())
    assert [m["type"] for m in sent] == [
        "http.response.start", "http.response.body", "http.response.body",
    ]
    assert sent[1] == {"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True}
    assert sent[2] == {
        "type": "http.response.body", "body": b"data: 2\n\n" + chunks.DONE, "more_body": False,
    }


async def test_a_stream_without_done_is_still_ended() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    sent = await _run(body())
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert len(sent) == 3


async def test_an_error_after_the_end_sends_nothing_more() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n" + chunks.DONE
        raise errors.ApiError("late failure", code="upstream_error")

    sent = await _run(body())
    assert len(sent) == 2
    assert sent[-1]["more_body"] is False


async def test_an_error_mid_stream_becomes_the_last_event() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        raise errors.ApiError("dropped", code="upstream_error")

    sent = await _run(body())
    assert sent[-1]["more_body"] is False
    assert sent[-1]["body"].startswith(b"data: {") and b"dropped" in sent[-1]["body"]


async def test_keep_alive_comments_fill_a_quiet_stream_and_stop_at_its_end() -> None:
    async def body() -> AsyncIterator[bytes]:
        await asyncio.sleep(0.1)
        yield b"data: 1\n\n" + chunks.DONE

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await EventStream(body(), keepalive=0.01)(SCOPE, _never_disconnects, send)
    await asyncio.sleep(0.03)  # a timer left behind would write after the end
    assert sent[0]["type"] == "http.response.start"
    bodies = [m["body"] for m in sent[1:]]
    assert bodies[:-1].count(chunks.KEEPALIVE) >= 2 and set(bodies[:-1]) == {chunks.KEEPALIVE}
    assert bodies[-1] == b"data: 1\n\n" + chunks.DONE and sent[-1]["more_body"] is False


async def test_a_disconnect_cancels_the_body_and_ends_the_call_quietly() -> None:
    gone = asyncio.Event()
    closed = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"data: 1\n\n"
            gone.set()
            await asyncio.Event().wait()
            yield b"never"
        finally:
            closed.set()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    await EventStream(body(), keepalive=30)(SCOPE, receive, send)
    assert closed.is_set()


async def test_a_cancel_from_elsewhere_propagates() -> None:
    async def body() -> AsyncIterator[bytes]:
        await asyncio.Event().wait()
        yield b""

    async def send(message: dict[str, Any]) -> None:
        pass

    call = asyncio.create_task(EventStream(body(), keepalive=30)(SCOPE, _never_disconnects, send))
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
