"""The Imagine WebSocket: slots with preview, medium and final images (§11.3)."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import orjson
import pytest
from grok_sim.testing import SimHandle
from sim_wire import UA
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

FINAL_MIN, MEDIUM_MIN = 100_000, 30_000


def ws_url(sim: SimHandle) -> str:
    return sim.base_url.replace("http://", "ws://") + "/ws/imagine/listen"


def ws_headers(credential: str) -> dict[str, str]:
    return {"Cookie": f"sso={credential}; sso-rw={credential}", "Origin": "https://grok.com",
            "User-Agent": UA, "Cache-Control": "no-cache", "Pragma": "no-cache"}


def prompt(text: str = "a lighthouse", **properties: Any) -> str:
    now = int(time.time() * 1000)
    props = {"section_count": 0, "is_kids_mode": False, "enable_nsfw": True,
             "skip_upsampler": False, "is_initial": False, "aspect_ratio": "2:3",
             "enable_side_by_side": True, "enable_pro": False, **properties}
    return orjson.dumps({"type": "conversation.item.create", "timestamp": now, "item": {
        "type": "message", "content": [{"requestId": "img_1", "text": text,
                                        "type": "input_text", "properties": props}]}}).decode()


RESET = orjson.dumps({"type": "conversation.item.create", "timestamp": 0,
                      "item": {"type": "message", "content": [{"type": "reset"}]}}).decode()


async def collect(ws: ClientConnection, *, completed: int) -> list[dict]:
    messages: list[dict] = []
    done = 0
    while done < completed:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), 5.0))
        messages.append(message)
        if message.get("current_status") == "completed" or message["type"] == "error":
            done += 1
    return messages


async def test_each_slot_gets_start_preview_medium_final_completed(sim: SimHandle, account):
    async with connect(ws_url(sim), additional_headers=ws_headers(account)) as ws:
        await ws.send(RESET)
        await ws.send(prompt(num_generations=2))
        messages = await collect(ws, completed=2)
    slot = [m for m in messages if m["order"] == 0]
    assert [m.get("current_status") or m["percentage_complete"] for m in slot] == [
        "start_stage", 33, 66, 100, "completed"]
    sizes = [len(base64.b64decode(m["blob"])) for m in slot if m["type"] == "image"]
    assert sizes[0] < MEDIUM_MIN < sizes[1] < FINAL_MIN < sizes[2]
    blob_lengths = [len(m["blob"]) for m in slot if m["type"] == "image"]
    assert blob_lengths[1] < FINAL_MIN < blob_lengths[2]
    final = slot[3]
    assert final["url"].endswith(".jpg") and not slot[2]["url"].endswith(".jpg")
    assert (final["width"], final["height"]) == (1024, 1536)
    assert slot[-1]["moderated"] is False
    assert sim.quota(account, "auto")["remaining"] == 19


async def test_default_slot_count_is_six_for_speed_and_four_for_pro(sim: SimHandle, account):
    async with connect(ws_url(sim), additional_headers=ws_headers(account)) as ws:
        await ws.send(prompt())
        speed = await collect(ws, completed=6)
        await ws.send(prompt(enable_pro=True))
        pro = await collect(ws, completed=4)
    assert len({m["image_id"] for m in speed}) == 6 and len({m["image_id"] for m in pro}) == 4


async def test_final_image_downloads_with_the_owner_cookie(sim: SimHandle, client, account):
    async with connect(ws_url(sim), additional_headers=ws_headers(account)) as ws:
        await ws.send(prompt(num_generations=1))
        messages = await collect(ws, completed=1)
    url = next(m["url"] for m in messages if m.get("percentage_complete") == 100)
    image = await client.get("/" + url, headers={"Cookie": f"sso={account}; sso-rw={account}"})
    assert image.status_code == 200 and len(image.content) > FINAL_MIN


async def test_moderated_slots_complete_without_a_final(sim: SimHandle):
    async with connect(ws_url(sim), additional_headers=ws_headers("sim-fault-moderated")) as ws:
        await ws.send(prompt(num_generations=2))
        messages = await collect(ws, completed=2)
    assert not any(m.get("percentage_complete") == 100 for m in messages)
    assert all(m["moderated"] for m in messages if m.get("current_status") == "completed")


async def test_no_final_fault_sends_medium_then_nothing(sim: SimHandle, account):
    sim.set_fault("imagine-no-final", account=account, times=1)
    async with connect(ws_url(sim), additional_headers=ws_headers(account)) as ws:
        await ws.send(prompt(num_generations=1))
        first = [orjson.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(3)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
    assert [m.get("percentage_complete") for m in first] == [None, 33, 66]


async def test_invalid_prompt_gets_an_error_frame(sim: SimHandle, account):
    async with connect(ws_url(sim), additional_headers=ws_headers(account)) as ws:
        await ws.send('{"type":"conversation.item.create","item":{"content":[{"type":"x"}]}}')
        error = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert error["type"] == "error" and error["err_code"] == "invalid_request"


async def test_exhausted_quota_gets_a_rate_limit_error_frame(sim: SimHandle):
    sim.add_account("tok", quotas={"auto": 0})
    async with connect(ws_url(sim), additional_headers=ws_headers("tok")) as ws:
        await ws.send(prompt())
        error = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert error["err_code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(("credential", "status"),
                         [("nobody", 401), ("sim-fault-429", 429), ("sim-fault-cf", 403)])
async def test_handshake_is_refused_with_the_upstream_status(sim: SimHandle, credential, status):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(sim), additional_headers=ws_headers(credential)):
            pass
    assert refused.value.response.status_code == status


async def test_handshake_without_origin_is_a_400(sim: SimHandle, account):
    headers = ws_headers(account)
    del headers["Origin"]
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(sim), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 400


async def test_messages_are_recorded(sim: SimHandle, account):
    async with connect(ws_url(sim), additional_headers=ws_headers(account)) as ws:
        await ws.send(RESET)
    await asyncio.sleep(0.05)
    records = sim.requests(path="/ws/imagine/listen")
    assert records[0]["method"] == "GET" and records[0]["headers"]["origin"] == "https://grok.com"
    assert records[1]["method"] == "WS"
    assert records[1]["json"]["item"]["content"][0]["type"] == "reset"
