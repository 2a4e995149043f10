"""Tool calling, retries across accounts, mid-stream failures and client disconnects."""

from __future__ import annotations

import asyncio
import json

import httpx2
import openai
import pytest
from gateway_fakes import Gateway, reply, serve, text_reply
from grok2api_poolclient import leases
from grok_web import errors as grok_errors
from grok_web import events as ev

TOOLS = [{
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather for a city",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}]
CALL_XML = (
    "Sure.\n```xml\n<tool_calls><tool_call><tool_name>get_weather</tool_name>"
    '<parameters>{"city": "Paris"}</parameters></tool_call></tool_calls>\n```'
)


async def test_streams_tool_calls_and_feeds_results_back(gateway: Gateway) -> None:
    gateway.grok.scripts["*"] = text_reply(CALL_XML[:30], CALL_XML[30:70], CALL_XML[70:])
    client = gateway.client()
    messages: list[dict] = [{"role": "user", "content": "Weather in Paris?"}]
    stream = await client.chat.completions.create(model="grok-4", messages=messages,
                                                  tools=TOOLS, stream=True)
    chunks = [c async for c in stream]
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert content.strip() == "Sure."
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert "get_weather" in gateway.grok.requests[0][1].message

    gateway.grok.scripts["*"] = text_reply("It is sunny.")
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": calls[0].id, "type": "function",
             "function": {"name": "get_weather", "arguments": calls[0].function.arguments}}]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny, 21C"},
    ]
    answer = await client.chat.completions.create(model="grok-4", messages=messages,
                                                  tools=TOOLS, stream=False)
    assert answer.choices[0].message.content == "It is sunny."
    prompt = gateway.grok.requests[1][1].message
    assert f"[tool result for {calls[0].id}]:\nsunny, 21C" in prompt
    assert "<tool_name>get_weather</tool_name>" in prompt


async def test_undeclared_tool_names_are_not_returned(gateway: Gateway) -> None:
    text = "<tool_calls><tool_call><tool_name>rm_rf</tool_name><parameters>{}</parameters>"
    gateway.grok.scripts["*"] = text_reply(text + "</tool_call></tool_calls>")
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=False
    )
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (grok_errors.InvalidCredential("bad", status=401), leases.Outcome.INVALID_CREDENTIAL),
        (grok_errors.RateLimited("slow down", status=429, retry_after=0.01),
         leases.Outcome.RATE_LIMITED),
        (grok_errors.CloudflareChallenge("cf", status=403), leases.Outcome.CHALLENGE),
    ],
)
async def test_switches_account_before_the_first_byte(
    gateway: Gateway, error: Exception, outcome: leases.Outcome
) -> None:
    gateway.grok.scripts["cred-acct-1"] = reply(error)
    answer = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=False
    )
    assert answer.choices[0].message.content == "Hello world"
    assert gateway.pool.outcomes() == [("acct-1", outcome), ("acct-2", leases.Outcome.SUCCESS)]


async def test_gives_up_after_max_retry_with_an_openai_error(gateway: Gateway) -> None:
    gateway.live.apply({"retry.max_retry": 1})
    gateway.grok.scripts["*"] = reply(grok_errors.UpstreamUnavailable("503", status=503))
    with pytest.raises(openai.InternalServerError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    assert caught.value.body["code"] == "upstream_unavailable"
    assert [a for a, _ in gateway.pool.outcomes()] == ["acct-1", "acct-2"]


async def test_rate_limits_on_every_account_reach_the_client_as_429(gateway: Gateway) -> None:
    gateway.live.apply({"retry.max_retry": 0})  # rejections do not spend retries
    gateway.grok.scripts["*"] = reply(grok_errors.RateLimited("limit", status=429))
    with pytest.raises(openai.RateLimitError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    assert caught.value.body["code"] == "upstream_rate_limited"
    assert [a for a, _ in gateway.pool.outcomes()] == ["acct-1", "acct-2", "acct-3"]


async def test_a_5xx_on_every_account_reaches_the_client_after_each_was_tried(
    gateway: Gateway,
) -> None:
    gateway.grok.scripts["*"] = reply(grok_errors.UpstreamUnavailable("502", status=502))
    with pytest.raises(openai.APIStatusError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=False
        )
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "upstream_unavailable"
    assert "on each of 3 accounts" in caught.value.body["message"]
    assert "retry" in caught.value.body["message"]
    assert gateway.pool.outcomes() == [
        (account, leases.Outcome.TRANSIENT) for account in ("acct-1", "acct-2", "acct-3")
    ]


async def test_non_retryable_failure_is_not_retried(gateway: Gateway) -> None:
    gateway.grok.scripts["*"] = reply(grok_errors.RequestRejected("404", status=404))
    with pytest.raises(openai.APIStatusError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=False
        )
    assert (caught.value.status_code, caught.value.body["code"]) == (502, "upstream_rejected")
    assert "on 1 account" in caught.value.body["message"]
    assert gateway.pool.outcomes() == [("acct-1", leases.Outcome.UPSTREAM_ERROR)]


async def test_mid_stream_failure_ends_with_an_error_event(gateway: Gateway) -> None:
    gateway.grok.scripts["*"] = reply(
        ev.TextDelta(text="partial"), grok_errors.UpstreamUnavailable("reset", status=None)
    )
    stream = await gateway.client().chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    seen = []
    with pytest.raises(openai.APIError) as caught:
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content)
    assert "partial" in seen
    assert "upstream_unavailable" in str(caught.value.body)
    assert gateway.pool.outcomes() == [("acct-1", leases.Outcome.TRANSIENT)]


async def test_client_disconnect_cancels_upstream_and_releases_as_cancelled(
    gateway: Gateway,
) -> None:
    gateway.grok.scripts["*"] = reply(*[ev.TextDelta(text="tick ") for _ in range(100)],
                                      delay=0.05)
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        async with http.stream("POST", "/v1/chat/completions", json={
            "model": "grok-4", "stream": True, "messages": [{"role": "user", "content": "Hi"}],
        }) as response:
            async for line in response.aiter_lines():
                if "tick" in line:
                    break
    for _ in range(100):
        if gateway.pool.releases:
            break
        await asyncio.sleep(0.02)
    assert gateway.pool.outcomes() == [("acct-1", leases.Outcome.CANCELLED)]
    assert gateway.grok.open_streams == 0


async def test_keepalive_comments_while_upstream_thinks(gateway: Gateway) -> None:
    gateway.live.apply({"chat.keepalive_seconds": 0.05})
    gateway.grok.scripts["*"] = reply(ev.TextDelta(text="late"),
                                      ev.Final(response_id="r", message="late"), delay=0.2)
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        response = await http.post("/v1/chat/completions", json={
            "model": "grok-4", "stream": True, "messages": [{"role": "user", "content": "Hi"}],
        })
    assert ": keep-alive" in response.text
    assert response.text.rstrip().endswith("data: [DONE]")


async def test_requires_the_api_key_when_one_is_set(gateway: Gateway) -> None:
    gateway.live.apply({"app.api_key": "sk-right"})
    with pytest.raises(openai.AuthenticationError):
        await gateway.client(api_key="sk-wrong").models.list()
    assert (await gateway.client(api_key="sk-right").models.list()).data
    async with httpx2.AsyncClient(base_url=gateway.base_url) as http:
        ok = await http.get("/v1/models", headers={"x-api-key": "sk-right"})
        missing = await http.get("/v1/models")
    assert ok.status_code == 200
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"


async def test_uploads_data_uri_images_as_attachments(gateway: Gateway) -> None:
    await gateway.client().chat.completions.create(
        model="grok-4", stream=False,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]}],
    )
    credential, _name, mime, content = gateway.grok.uploads[0]
    assert credential == "cred-acct-1"
    assert mime == "image/png" and content.startswith(b"\x89PNG")
    assert gateway.grok.requests[0][1].file_attachments == ("file-1",)


async def test_rejects_non_http_image_urls(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gateway.client().chat.completions.create(
            model="grok-4",
            messages=[{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}],
        )
    assert caught.value.body["param"] == "messages.0.content.0.image_url.url"


async def _image_server(size: int):
    async def app(scope, receive, send):  # a tiny ASGI app serving `size` bytes of PNG
        if scope["type"] != "http":
            return
        body = b"\x89PNG" + b"\0" * (size - 4)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"image/png")]})
        await send({"type": "http.response.body", "body": body})

    return serve(app)


async def _ask_about_image(gateway: Gateway, url: str) -> None:
    await gateway.client().chat.completions.create(
        model="grok-4", stream=False,
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
    )


async def test_refuses_image_urls_on_local_addresses_by_default(gateway: Gateway) -> None:
    async with await _image_server(1000) as image_base:
        with pytest.raises(openai.BadRequestError) as caught:
            await _ask_about_image(gateway, image_base + "/cat.png")
    assert caught.value.body["param"] == "messages.0.content.0.image_url.url"
    assert "chat.attachment_allow_private" in caught.value.body["message"]
    assert gateway.grok.uploads == [] and gateway.grok.requests == []


async def test_fetches_remote_http_images_and_uploads_them(gateway: Gateway) -> None:
    gateway.live.apply({"chat.attachment_allow_private": True})  # the image server is local
    async with await _image_server(1000) as image_base:
        await _ask_about_image(gateway, image_base + "/cat.png")
    _, _, mime, content = gateway.grok.uploads[0]
    assert mime == "image/png" and len(content) == 1000
    assert gateway.grok.requests[0][1].message == "Refer to the following content:"


async def test_refuses_remote_images_over_the_size_bound(gateway: Gateway) -> None:
    gateway.live.apply({"chat.attachment_max_bytes": 4096, "chat.attachment_allow_private": True})
    async with await _image_server(10_000) as image_base:
        with pytest.raises(openai.BadRequestError) as caught:
            await _ask_about_image(gateway, image_base + "/big.png")
    assert "larger than" in caught.value.body["message"]
    assert gateway.grok.uploads == []


async def test_disconnect_during_a_non_streaming_request_cancels_the_upstream(
    gateway: Gateway,
) -> None:
    gateway.grok.scripts["*"] = reply(*[ev.TextDelta(text="slow ") for _ in range(100)],
                                      delay=0.05)
    async with httpx2.AsyncClient(base_url=gateway.base_url, timeout=0.3) as http:
        with pytest.raises(httpx2.TimeoutException):
            await http.post("/v1/chat/completions", json={
                "model": "grok-4", "stream": False,
                "messages": [{"role": "user", "content": "Hi"}]})
    for _ in range(100):
        if gateway.pool.releases:
            break
        await asyncio.sleep(0.02)
    assert gateway.pool.outcomes() == [("acct-1", leases.Outcome.CANCELLED)]
    assert gateway.grok.open_streams == 0
