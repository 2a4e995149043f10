"""The simulator works with the project's real HTTP stack: curl_cffi with Chrome impersonation."""

from __future__ import annotations

import orjson
from curl_cffi.requests import AsyncSession
from grok_sim.testing import SimHandle
from sim_wire import answer_text, chat_body, grok_headers

CHAT = "/rest/app-chat/conversations/new"


async def test_impersonated_post_keeps_its_body_despite_the_h2c_upgrade_offer(sim: SimHandle):
    sim.script_reply("from curl")
    async with AsyncSession(impersonate="chrome136") as session:
        answer = await session.post(sim.base_url + CHAT, headers=grok_headers("sim-curl"),
                                    json=chat_body(message="hi"), stream=True)
        lines = [line async for line in answer.aiter_lines() if line]
    assert answer.status_code == 200
    assert answer_text(b"\n".join(lines).decode()) == "from curl"
    [record] = sim.requests(path=CHAT)
    assert record["json"]["message"] == "hi"


async def test_impersonated_websocket_reaches_imagine(sim: SimHandle):
    headers = {"Cookie": "sso=sim-ws; sso-rw=sim-ws", "Origin": "https://grok.com",
               "User-Agent": "curl-test"}
    prompt = {"type": "conversation.item.create", "item": {"type": "message", "content": [
        {"requestId": "1", "text": "cat", "type": "input_text",
         "properties": {"num_generations": 1}}]}}
    async with AsyncSession(impersonate="chrome136") as session:
        ws = await session.ws_connect(sim.base_url.replace("http", "ws") + "/ws/imagine/listen",
                                      headers=headers)
        await ws.send_str(orjson.dumps(prompt).decode())
        first = orjson.loads(await ws.recv_str())
        await ws.close()
    assert first["current_status"] == "start_stage"
