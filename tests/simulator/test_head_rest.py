"""HEAD-generation REST calls: `/api/auth/session` (§16) and upload v2 (§9.2)."""

from __future__ import annotations

import uuid

import httpx2
from grok_sim.accounts import user_id_for
from grok_sim.testing import SimHandle
from sim_wire import grok_headers

UPLOAD = "/http/upload-file-v2/direct"


def session_headers(credential: str) -> dict[str, str]:
    headers = grok_headers(credential, json_body=False)
    del headers["x-statsig-id"]
    headers["Sec-Ch-Ua"] = '"Google Chrome";v="146"'
    return headers


def upload_headers(credential: str) -> dict[str, str]:
    return {"Cookie": f"sso={credential}; sso-rw={credential}", "Origin": "https://grok.com",
            "Referer": "https://grok.com/imagine", "User-Agent": "Mozilla/5.0 Chrome/146"}


async def test_session_answers_the_accounts_uuid(sim: SimHandle, client: httpx2.AsyncClient,
                                                 account):
    got = await client.get("/api/auth/session", headers=session_headers(account))
    assert got.status_code == 200
    data = got.json()
    assert data["status"] == "authenticated"
    assert data["session"]["userId"] == data["user"]["id"] == user_id_for(account)
    assert str(uuid.UUID(data["session"]["userId"])) == data["session"]["userId"]
    again = await client.get("/api/auth/session", headers=session_headers(account))
    assert again.json()["session"]["userId"] == data["session"]["userId"]


async def test_session_admission(sim: SimHandle, client: httpx2.AsyncClient, account):
    unknown = await client.get("/api/auth/session", headers=session_headers("nobody"))
    assert unknown.status_code == 401
    headers = session_headers(account)
    del headers["x-xai-request-id"]
    missing = await client.get("/api/auth/session", headers=headers)
    assert missing.status_code == 400 and "x-xai-request-id" in missing.json()["missing"]
    blocked = await client.get("/api/auth/session", headers=session_headers("sim-fault-blocked"))
    assert blocked.status_code == 200 and blocked.json()["status"] == "blocked"
    limited = await client.get("/api/auth/session", headers=session_headers("sim-fault-429"))
    assert limited.status_code == 429


async def test_upload_v2_stores_a_downloadable_file(sim: SimHandle, client: httpx2.AsyncClient,
                                                    account):
    got = await client.post(UPLOAD, headers=upload_headers(account),
                            files={"file": ("cat.png", b"\x89PNG-bytes", "image/png")},
                            data={"file_source": "IMAGINE_SELF_UPLOAD_FILE_SOURCE"})
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["terminalError"] is None and data["uploadId"]
    meta = data["fileMetadata"]
    assert meta["fileUri"] == f"users/{user_id_for(account)}/{meta['fileMetadataId']}/content"
    assert meta["fileId"] == meta["fileMetadataId"]
    file = await client.get("/" + meta["fileUri"],
                            headers={"Cookie": f"sso={account}; sso-rw={account}"})
    assert file.status_code == 200 and file.content == b"\x89PNG-bytes"
    assert file.headers["content-type"] == "image/png"
    recorded = sim.requests(path=UPLOAD)[-1]
    assert "x-xai-request-id" not in recorded["headers"]


async def test_upload_v2_refusals(sim: SimHandle, client: httpx2.AsyncClient, account):
    no_file = await client.post(UPLOAD, headers=upload_headers(account),
                                files={"other": ("a.txt", b"x", "text/plain")})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]["message"]
    not_multipart = await client.post(UPLOAD, headers=upload_headers(account), json={})
    assert not_multipart.status_code == 400
    unknown = await client.post(UPLOAD, headers=upload_headers("nobody"),
                                files={"file": ("a.png", b"x", "image/png")})
    assert unknown.status_code == 401
    sim.set_fault("upload-403", account=account, times=1)
    refused = await client.post(UPLOAD, headers=upload_headers(account),
                                files={"file": ("a.png", b"x", "image/png")})
    assert refused.status_code == 403
    ok = await client.post(UPLOAD, headers=upload_headers(account),
                           files={"file": ("a.png", b"x", "image/png")})
    assert ok.status_code == 200
