"""Required headers, credentials and body fields (grok-protocol.md §2, §3.1, §17)."""

from __future__ import annotations

import pytest
from grok_sim.testing import SimHandle
from sim_wire import chat_body, grok_headers

CHAT = "/rest/app-chat/conversations/new"


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("x-statsig-id", "x-statsig-id"),
        ("x-xai-request-id", "x-xai-request-id"),
        ("Origin", "origin"),
        ("Referer", "referer"),
        ("User-Agent", "user-agent"),
        ("Content-Type", "Content-Type"),
        ("Cookie", "Cookie"),
    ],
)
async def test_rejects_a_missing_header_with_400_naming_it(client, account, header, named):
    headers = grok_headers(account)
    del headers[header]
    if header == "User-Agent":
        headers[header] = ""  # the HTTP client would add its own User-Agent otherwise
    answer = await client.post(CHAT, headers=headers, content=b'{"message":"x"}')
    assert answer.status_code == 400
    assert answer.json()["missing"] and any(named in m for m in answer.json()["missing"])


async def test_rejects_a_statsig_id_that_is_not_base64_of_an_e_string(client, account):
    headers = grok_headers(account)
    headers["x-statsig-id"] = "bm90LWFuLWU="
    answer = await client.post(CHAT, headers=headers, json=chat_body())
    assert answer.status_code == 400
    assert "x-statsig-id" in answer.json()["error"]["message"]


async def test_rejects_a_request_id_that_is_not_a_uuid(client, account):
    headers = grok_headers(account)
    headers["x-xai-request-id"] = "nope"
    answer = await client.post(CHAT, headers=headers, json=chat_body())
    assert answer.status_code == 400
    assert "x-xai-request-id (UUID)" in answer.json()["missing"]


async def test_requires_sso_rw_equal_to_sso(client, account):
    headers = grok_headers(account, Cookie=f"sso={account}; sso-rw=other")
    answer = await client.post(CHAT, headers=headers, json=chat_body())
    assert answer.status_code == 400
    assert "sso-rw" in answer.json()["error"]["message"]


async def test_accepts_cloudflare_cookies_after_the_sso_pair(client, account):
    cookie = f"sso={account}; sso-rw={account};cf_clearance=abc; __cf_bm=x"
    answer = await client.post(CHAT, headers=grok_headers(account, Cookie=cookie), json=chat_body())
    assert answer.status_code == 200


async def test_unknown_credential_gets_401_with_an_invalid_credential_body(client):
    answer = await client.post(CHAT, headers=grok_headers("who-is-this"), json=chat_body())
    assert answer.status_code == 401
    assert "invalid-credentials" in answer.json()["error"]["message"]


async def test_conventional_credentials_are_created_on_first_use(client, sim: SimHandle):
    answer = await client.post(CHAT, headers=grok_headers("sim-tier-super-quota-3"),
                               json=chat_body(mode="heavy"))
    assert answer.status_code == 200
    assert sim.quota("sim-tier-super-quota-3", "heavy") == {
        "total": 3, "remaining": 2, "windowSeconds": 7200, "used": 1,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"modeId": "turbo"}, "modeId"),
        ({"modelName": "grok-4"}, "modelName (must not be sent with modeId)"),
        ({"modelMode": "MODEL_MODE_FAST"}, "modelMode"),
        ({"message": 5}, "message (wrong type)"),
    ],
)
async def test_rejects_chat_bodies_that_break_the_v2_shape(client, account, change, named):
    answer = await client.post(CHAT, headers=grok_headers(account), json=chat_body(**change))
    assert answer.status_code == 400
    assert named in answer.json()["error"]["message"]


@pytest.mark.parametrize("field", ["message", "temporary", "fileAttachments", "sendFinalMetadata"])
async def test_rejects_chat_bodies_missing_a_required_field(client, account, field):
    body = chat_body()
    del body[field]
    answer = await client.post(CHAT, headers=grok_headers(account), json=body)
    assert answer.status_code == 400
    assert f"{field} (missing)" in answer.json()["error"]["message"]


async def test_rejects_a_body_that_is_not_json(client, account):
    answer = await client.post(CHAT, headers=grok_headers(account), content=b"{nope")
    assert answer.status_code == 400


async def test_records_method_path_headers_and_json(client, account, sim: SimHandle):
    await client.post(CHAT, headers=grok_headers(account), json=chat_body(message="rec"))
    [record] = sim.requests(path=CHAT)
    assert record["method"] == "POST"
    assert record["json"]["message"] == "rec"
    assert record["headers"]["cookie"] == f"sso={account}; sso-rw={account}"
    assert sim.requests(path="/rest/rate-limits") == []


async def test_repeated_cookie_headers_form_one_cookie_list(client, account):
    headers = grok_headers(account)
    del headers["Cookie"]
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"cookie", f"sso={account}; sso-rw={account}".encode()),
            (b"cookie", b"cf_clearance=abc")]
    answer = await client.post(CHAT, headers=raw, json=chat_body())
    assert answer.status_code == 200
