"""Upload, asset list with pagination, delete, and owner-only downloads (§9.1, §10)."""

from __future__ import annotations

import base64

from grok_sim.testing import SimHandle
from sim_wire import grok_headers

UPLOAD = "/rest/app-chat/upload-file"


async def upload(client, credential, data=b"hello", name="a.txt", mime="text/plain"):
    return await client.post(UPLOAD, headers=grok_headers(credential), json={
        "fileName": name, "fileMimeType": mime, "content": base64.b64encode(data).decode(),
    })


def cookie(credential: str) -> dict[str, str]:
    return {"Cookie": f"sso={credential}; sso-rw={credential}"}


async def test_upload_returns_metadata_id_and_a_relative_file_uri(client, account, sim: SimHandle):
    answer = await upload(client, account, data=b"\x89PNG...")
    body = answer.json()
    user_id = sim.accounts()[0]["userId"]
    assert answer.status_code == 200
    assert body["fileUri"] == f"users/{user_id}/{body['fileMetadataId']}/content"
    download = await client.get("/" + body["fileUri"], headers=cookie(account))
    assert download.status_code == 200 and download.content == b"\x89PNG..."


async def test_upload_rejects_missing_fields_and_data_uris(client, account):
    headers = grok_headers(account)
    missing = await client.post(UPLOAD, headers=headers, json={"fileName": "a"})
    assert missing.status_code == 400 and "fileMimeType" in missing.text
    data_uri = await client.post(UPLOAD, headers=headers, json={
        "fileName": "a", "fileMimeType": "image/png", "content": "data:image/png;base64,AAAA"})
    assert data_uri.status_code == 400


async def test_upload_403_fault_rejects_only_uploads(client, account, sim: SimHandle):
    sim.set_fault("upload-403", account=account, times=1)
    assert (await upload(client, account)).status_code == 403
    assert (await upload(client, account)).status_code == 200
    assert (await upload(client, "sim-fault-upload-403")).status_code == 403


async def test_download_needs_the_owning_accounts_cookie(client, account, sim: SimHandle):
    sim.add_account("tok-other")
    uri = (await upload(client, account)).json()["fileUri"]
    assert (await client.get("/" + uri)).status_code == 403
    assert (await client.get("/" + uri, headers=cookie("tok-other"))).status_code == 403
    assert (await client.get("/" + uri, headers=cookie("nobody"))).status_code == 403
    assert (await client.get("/users/x/none/content", headers=cookie(account))).status_code == 404


async def test_assets_list_pages_newest_first_and_delete_removes(client, account):
    ids = [(await upload(client, account, name=f"f{n}")).json()["fileMetadataId"]
           for n in range(3)]
    headers = grok_headers(account, json_body=False, Referer="https://grok.com/files")
    params = {"pageSize": 2, "orderBy": "ORDER_BY_LAST_USE_TIME", "source": "SOURCE_ANY",
              "isLatest": "true"}
    first = (await client.get("/rest/assets", headers=headers, params=params)).json()
    second = (await client.get("/rest/assets", headers=headers,
                               params={**params, "pageToken": first["nextPageToken"]})).json()
    listed = [a["assetId"] for a in first["assets"] + second["assets"]]
    assert listed == ids[::-1] and "nextPageToken" not in second
    assert first["assets"][0]["name"] == "f2" and first["assets"][0]["mimeType"] == "text/plain"
    deleted = await client.delete(f"/rest/assets-metadata/{ids[0]}", headers=headers)
    assert deleted.status_code == 200
    again = await client.delete(f"/rest/assets-metadata/{ids[0]}", headers=headers)
    assert again.status_code == 404
    remaining = (await client.get("/rest/assets", headers=headers, params=params)).json()
    assert [a["assetId"] for a in remaining["assets"]] == ids[:0:-1]


async def test_assets_of_another_account_are_not_listed(client, account, sim: SimHandle):
    sim.add_account("tok-other")
    await upload(client, account)
    headers = grok_headers("tok-other", json_body=False)
    assert (await client.get("/rest/assets", headers=headers)).json()["assets"] == []
