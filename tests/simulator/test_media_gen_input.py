"""HEAD `mediaGenInput` app-chat bodies: image edit and text-to-video (§12, §13.2)."""

from __future__ import annotations

from typing import Any

from grok_sim.testing import SimHandle
from sim_wire import grok_headers, responses_of

CHAT = "/rest/app-chat/conversations/new"
UPLOAD = "/http/upload-file-v2/direct"


def cookie(credential: str) -> dict[str, str]:
    return {"Cookie": f"sso={credential}; sso-rw={credential}"}


async def upload(client, credential: str) -> str:
    got = await client.post(UPLOAD, headers={**cookie(credential), "Origin": "https://grok.com",
                                             "Referer": "https://grok.com/imagine",
                                             "User-Agent": "Mozilla/5.0"},
                            files={"file": ("in.png", b"png", "image/png")},
                            data={"file_source": "IMAGINE_SELF_UPLOAD_FILE_SOURCE"})
    assert got.status_code == 200, got.text
    return str(got.json()["fileMetadata"]["fileMetadataId"])


def edit_body(asset: str, **edit: Any) -> dict[str, Any]:
    return {"modelName": "imagine-image-edit", "message": "make it blue",
            "enableImageStreaming": True, "enableSideBySide": True, "sendFinalMetadata": True,
            "mediaGenInput": {"imageToImage": {"prompt": "make it blue", "inputAssets": [asset],
                                               **edit}}}


def video_body(**video: Any) -> dict[str, Any]:
    spec = {"prompt": "a cat", "aspectRatio": "1:1", "duration": 6, "resolutionName": "720p",
            **video}
    return {"modelName": "imagine-video-gen", "message": "a cat --mode=custom",
            "enableImageStreaming": True, "enableSideBySide": True, "sendFinalMetadata": True,
            "responseMetadata": {"experiments": [], "modelConfigOverride": {"modelMap": {}}},
            "mediaGenInput": {"textToVideo": spec}, "kind": "CONVERSATION_KIND_IMAGINE"}


async def test_image_to_image_body_streams_edited_images(sim: SimHandle, client, account):
    asset = await upload(client, account)
    got = await client.post(CHAT, headers=grok_headers(account),
                            json=edit_body(asset, aspectRatio="1:1"))
    assert got.status_code == 200, got.text
    finals = [r["streamingImageGenerationResponse"] for r in responses_of(got.text)
              if r.get("streamingImageGenerationResponse", {}).get("progress") == 100]
    assert finals and all(f["imageUrl"].endswith("/image.jpg") for f in finals)
    image = await client.get("/" + finals[0]["imageUrl"], headers=cookie(account))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert sim.quota(account, "auto")["remaining"] == 19


async def test_text_to_video_body_streams_a_video(sim: SimHandle, client, account):
    got = await client.post(CHAT, headers=grok_headers(account), json=video_body(duration=15))
    assert got.status_code == 200, got.text
    steps = [r["streamingVideoGenerationResponse"] for r in responses_of(got.text)
             if "streamingVideoGenerationResponse" in r]
    assert [s["progress"] for s in steps] == [0, 25, 50, 75, 100]
    video = await client.get("/" + steps[-1]["videoUrl"], headers=cookie(account))
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert steps[-1]["resolutionName"] == "720p"


async def test_invalid_media_gen_bodies_name_the_fields(sim: SimHandle, client, account):
    bad_edit = await client.post(CHAT, headers=grok_headers(account),
                                 json=edit_body("x") | {"mediaGenInput": {"imageToImage": {}}})
    assert bad_edit.status_code == 400
    assert "inputAssets" in bad_edit.json()["error"]["message"]
    for spec in ({"duration": 0}, {"duration": 16}, {"aspectRatio": None}):
        bad = await client.post(CHAT, headers=grok_headers(account), json=video_body(**spec))
        assert bad.status_code == 400, spec
    no_kind = video_body()
    del no_kind["kind"]
    refused = await client.post(CHAT, headers=grok_headers(account), json=no_kind)
    assert refused.status_code == 400 and "kind" in refused.json()["error"]["message"]
    other = await client.post(CHAT, headers=grok_headers(account),
                              json=video_body() | {"modelName": "grok-3"})
    assert other.status_code == 400


async def test_an_edit_makes_one_image_of_the_accounts_own_uploads(
    sim: SimHandle, client, account
):
    asset = await upload(client, account)
    got = await client.post(CHAT, headers=grok_headers(account), json=edit_body(asset))
    finals = [r["streamingImageGenerationResponse"] for r in responses_of(got.text)
              if r.get("streamingImageGenerationResponse", {}).get("progress") == 100]
    assert len(finals) == 1  # §12 HEAD: n is 1 per request
    sim.add_account("sim-stranger")
    stranger = await client.post(CHAT, headers=grok_headers("sim-stranger"),
                                 json=edit_body(asset))
    assert stranger.status_code == 400
    assert asset in stranger.json()["error"]["message"]
