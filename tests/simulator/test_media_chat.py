"""Image-in-chat, image edit and video over app-chat; posts, upscale, share links (§11-13)."""

from __future__ import annotations

from typing import Any

import orjson
from grok_sim.testing import SimHandle
from PIL import Image
from sim_wire import chat_body, grok_headers, responses_of

CHAT = "/rest/app-chat/conversations/new"
IMAGINE_REFERER = "https://grok.com/imagine"


def cookie(credential: str) -> dict[str, str]:
    return {"Cookie": f"sso={credential}; sso-rw={credential}"}


async def create_post(client, credential, **body: Any) -> str:
    answer = await client.post("/rest/media/post/create",
                               headers=grok_headers(credential, Referer=IMAGINE_REFERER), json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["post"]["id"])


def video_body(post_id: str, prompt: str = "a cat") -> dict[str, Any]:
    return {
        "temporary": True, "modelName": "grok-3", "message": f"{prompt} --mode=custom",
        "toolOverrides": {"videoGen": True}, "enableSideBySide": True,
        "responseMetadata": {"experiments": [], "modelConfigOverride": {"modelMap": {
            "videoGenModelConfig": {"parentPostId": post_id, "aspectRatio": "16:9",
                                    "videoLength": 6, "resolutionName": "720p"}}}},
    }


def edit_body(post_id: str, reference: str) -> dict[str, Any]:
    return {
        "temporary": True, "modelName": "imagine-image-edit", "message": "make it blue",
        "enableImageGeneration": True, "returnImageBytes": False,
        "returnRawGrokInXaiRequest": False, "enableImageStreaming": True,
        "imageGenerationCount": 2, "forceConcise": False, "toolOverrides": {"imageGen": True},
        "enableSideBySide": True, "sendFinalMetadata": True, "isReasoning": False,
        "disableTextFollowUps": True, "disableMemory": True, "forceSideBySide": False,
        "responseMetadata": {"modelConfigOverride": {"modelMap": {
            "imageEditModel": "imagine",
            "imageEditModelConfig": {"imageReferences": [reference], "parentPostId": post_id}}}},
    }


async def test_lite_image_prompt_streams_progress_cards_and_generated_urls(client, account):
    answer = await client.post(CHAT, headers=grok_headers(account),
                               json=chat_body(message="Drawing: a red fox", mode="fast"))
    responses = responses_of(answer.text)
    progress = [r["streamingImageGenerationResponse"] for r in responses
                if "streamingImageGenerationResponse" in r]
    assert [p["progress"] for p in progress] == [50, 100, 50, 100]
    assert {p["imageIndex"] for p in progress} == {0, 1}
    assert all("-part-" in p["imageUrl"] for p in progress if p["progress"] < 100)
    chunks = [orjson.loads(r["cardAttachment"]["jsonData"])["image_chunk"] for r in responses
              if "cardAttachment" in r]
    envelope = next(r["modelResponse"] for r in responses if "modelResponse" in r)
    finals = [p["imageUrl"] for p in progress if p["progress"] == 100]
    assert envelope["generatedImageUrls"] == finals == [c["imageUrl"] for c in chunks]
    assert finals[0].startswith("users/") and finals[0].endswith("/image.jpg")
    image = await client.get("/" + finals[0], headers=cookie(account))
    assert image.headers["content-type"] == "image/jpeg" and len(image.content) > 100_000


async def test_image_edit_needs_its_model_map_and_a_known_post(client, account):
    post_id = await create_post(client, account, mediaType="MEDIA_POST_TYPE_IMAGE", prompt="x")
    body = edit_body(post_id, "https://assets.grok.com/users/u/f/content")
    answer = await client.post(CHAT, headers=grok_headers(account), json=body)
    envelope = next(r["modelResponse"] for r in responses_of(answer.text) if "modelResponse" in r)
    assert len(envelope["generatedImageUrls"]) == 2
    del body["responseMetadata"]["modelConfigOverride"]["modelMap"]["imageEditModel"]
    broken = await client.post(CHAT, headers=grok_headers(account), json=body)
    assert broken.status_code == 400 and "imageEditModel" in broken.text


async def test_moderated_fault_marks_edited_images_moderated(client, account, sim: SimHandle):
    sim.set_fault("moderated", account=account, times=1)
    post_id = await create_post(client, account, mediaType="MEDIA_POST_TYPE_IMAGE", prompt="x")
    answer = await client.post(CHAT, headers=grok_headers(account),
                               json=edit_body(post_id, "https://assets.grok.com/x"))
    finals = [r["streamingImageGenerationResponse"] for r in responses_of(answer.text)
              if r.get("streamingImageGenerationResponse", {}).get("progress") == 100]
    assert finals and all(f["moderated"] for f in finals)


async def test_video_streams_progress_to_100_with_url_thumbnail_and_post(client, account,
                                                                        sim: SimHandle):
    post_id = await create_post(client, account, mediaType="MEDIA_POST_TYPE_VIDEO",
                                prompt="a cat")
    answer = await client.post(CHAT, headers=grok_headers(account, Referer=IMAGINE_REFERER),
                               json=video_body(post_id))
    responses = responses_of(answer.text)
    events = [r["streamingVideoGenerationResponse"] for r in responses
              if "streamingVideoGenerationResponse" in r]
    assert [e["progress"] for e in events] == [0, 25, 50, 75, 100]
    final = events[-1]
    assert final["videoUrl"].endswith("/generated_video.mp4")
    assert final["thumbnailImageUrl"].endswith("/preview_image.jpg")
    assert all("videoUrl" not in e for e in events[:-1])
    envelope = next(r["modelResponse"] for r in responses if "modelResponse" in r)
    assert envelope["fileAttachments"] == [final["videoPostId"]]
    assert any(r.get("isSoftStop") for r in responses)
    video = await client.get("/" + final["videoUrl"], headers=cookie(account))
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    thumb = await client.get("/" + final["thumbnailImageUrl"], headers=cookie(account))
    assert Image.open(__import__("io").BytesIO(thumb.content)).format == "JPEG"
    assert sim.quota(account, "auto")["remaining"] == 19


async def test_video_rejects_unknown_posts_and_missing_config(client, account):
    unknown = await client.post(CHAT, headers=grok_headers(account), json=video_body("nope"))
    assert unknown.status_code == 400 and "parentPostId" in unknown.text
    body = video_body("p")
    del body["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"][
        "videoLength"]
    missing = await client.post(CHAT, headers=grok_headers(account), json=body)
    assert missing.status_code == 400 and "videoLength" in missing.text


async def test_moderated_video_has_no_url(client, account, sim: SimHandle):
    sim.set_fault("moderated", account=account, times=1)
    post_id = await create_post(client, account, mediaType="MEDIA_POST_TYPE_VIDEO", prompt="x")
    answer = await client.post(CHAT, headers=grok_headers(account), json=video_body(post_id))
    final = [r["streamingVideoGenerationResponse"] for r in responses_of(answer.text)
             if "streamingVideoGenerationResponse" in r][-1]
    assert final["moderated"] is True and "videoUrl" not in final


async def test_post_create_validates_the_media_type(client, account):
    answer = await client.post("/rest/media/post/create", headers=grok_headers(account),
                               json={"mediaType": "MEDIA_POST_TYPE_GIF", "prompt": "x"})
    assert answer.status_code == 400


async def test_upscale_and_share_link_for_a_generated_video(client, account):
    post_id = await create_post(client, account, mediaType="MEDIA_POST_TYPE_VIDEO", prompt="x")
    answer = await client.post(CHAT, headers=grok_headers(account), json=video_body(post_id))
    final = [r["streamingVideoGenerationResponse"] for r in responses_of(answer.text)
             if "streamingVideoGenerationResponse" in r][-1]
    upscaled = await client.post("/rest/media/video/upscale", headers=grok_headers(account),
                                 json={"videoId": final["videoId"]})
    hd_url = upscaled.json()["hdMediaUrl"]
    assert hd_url.endswith("generated_video_hd.mp4")
    assert (await client.get("/" + hd_url, headers=cookie(account))).status_code == 200
    missing = await client.post("/rest/media/video/upscale", headers=grok_headers(account),
                                json={"videoId": "nope"})
    assert missing.status_code == 404
    link = await client.post("/rest/media/post/create-link", headers=grok_headers(account),
                             json={"postId": final["videoPostId"], "source": "post-page",
                                   "platform": "web"})
    share = link.json()["shareLink"]
    assert share.startswith(str(client.base_url)) and ".mp4" in share
    public = await client.get(share)
    assert public.status_code == 200 and public.content[4:8] == b"ftyp"
