"""Scripted replies (control API and prompt directives) and simulated search (§5)."""

from __future__ import annotations

import orjson
from grok_sim.testing import SimHandle
from sim_wire import answer_text, chat_body, grok_headers, reasoning_text, responses_of

CHAT = "/rest/app-chat/conversations/new"
TOOL_XML = (
    '<tool_calls><tool_call><tool_name>get_weather</tool_name>'
    '<parameters>{"city":"Paris"}</parameters></tool_call></tool_calls>'
)


async def chat(client, credential, message="Hello", mode="auto"):
    answer = await client.post(CHAT, headers=grok_headers(credential),
                               json=chat_body(message=message, mode=mode))
    assert answer.status_code == 200
    return answer.text


async def test_scripted_reply_is_answered_once_then_defaults_resume(client, account, sim):
    sim.script_reply(TOOL_XML, reasoning="I should call the tool.")
    first = await chat(client, account)
    second = await chat(client, account)
    assert answer_text(first) == TOOL_XML
    assert reasoning_text(first) == "I should call the tool."
    assert answer_text(second) != TOOL_XML


async def test_tool_call_xml_is_split_across_several_tokens(client, account, sim: SimHandle):
    sim.script_reply(TOOL_XML)
    tokens = [r["token"] for r in responses_of(await chat(client, account))
              if r.get("messageTag") == "final" and "token" in r and r["token"]]
    assert len(tokens) > 1 and "".join(tokens) == TOOL_XML


async def test_account_script_wins_over_the_global_queue(client, account, sim: SimHandle):
    sim.add_account("tok-2")
    sim.script_reply("global one")
    sim.script_reply("mine", account=account)
    assert answer_text(await chat(client, account)) == "mine"
    assert answer_text(await chat(client, account)) == "global one"
    assert answer_text(await chat(client, "tok-2")) != "global one"


async def test_script_times_repeats_a_reply(client, account, sim: SimHandle):
    sim.script_reply("again", times=2)
    texts = [answer_text(await chat(client, account)) for _ in range(3)]
    assert texts[:2] == ["again", "again"] and texts[2] != "again"


async def test_prompt_directive_sets_text_and_reasoning(client, account):
    directive = orjson.dumps({"text": "Bonjour ]] {x}", "reasoning": "French it is."}).decode()
    text = await chat(client, account, message=f"[user]: hi\n[[sim:reply={directive}]]")
    assert answer_text(text) == "Bonjour ]] {x}"
    assert reasoning_text(text) == "French it is."


async def test_last_directive_in_the_prompt_wins(client, account):
    message = '[[sim:reply={"text":"old"}]]\n[[sim:reply={"text":"new"}]]'
    assert answer_text(await chat(client, account, message=message)) == "new"


async def test_search_directive_emits_cards_results_and_inline_citations(client, account):
    text = await chat(client, account, message="news [[sim:search=python release]]")
    responses = responses_of(text)
    card = next(r for r in responses if r.get("messageTag") == "tool_usage_card")
    assert card["toolUsageCard"]["webSearch"]["args"]["query"] == "python release"
    assert "<xai:tool_name>web_search</xai:tool_name>" in card["token"]
    results = next(r["webSearchResults"]["results"] for r in responses if "webSearchResults" in r)
    assert len(results) == 2 and results[0]["url"].startswith("https://")
    attachments = [orjson.loads(r["cardAttachment"]["jsonData"]) for r in responses
                   if "cardAttachment" in r]
    assert {c["type"] for c in attachments} == {"render_inline_citation"}
    answer = answer_text(text)
    for card_json in attachments:
        assert f'card_id="{card_json["id"]}"' in answer
    assert '<grok:render' in answer and 'type="render_inline_citation"' in answer
    envelope = next(r["modelResponse"] for r in responses if "modelResponse" in r)
    assert len(envelope["cardAttachmentsJson"]) == 2 and envelope["webSearchResults"] == results


async def test_scripted_search_via_control_api(client, account, sim: SimHandle):
    sim.script_reply("Found it.", search="weather paris")
    text = await chat(client, account)
    assert any(r.get("messageTag") == "tool_usage_card" for r in responses_of(text))
    assert answer_text(text).startswith("Found it.")
