"""Uploads, image edits and videos in both upstream generations, against the simulator:
upload v2 (§9.2) and base64 JSON (§9.1); ``mediaGenInput`` (§12 HEAD, §13.2 HEAD) and the
media post + ``modelMap`` flow (§12 v2.x, §13.2 v2.x). Each test checks the request the
simulator recorded against the protocol document."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Callable

import pytest
from grok_sim.routes.upload_v2 import parse_multipart
from grok_web import GrokClient, ImageEditRequest, VideoExtension, VideoRequest, errors
from grok_web import events as ev
from grok_web import options as options_mod
from grok_web_helpers import collect, make_options

CHAT = "/rest/app-chat/conversations/new"
UPLOAD_V2 = "/http/upload-file-v2/direct"
UPLOAD_JSON = "/rest/app-chat/upload-file"
POSTS = "/rest/media/post/create"

Build = Callable[..., GrokClient]


@pytest.fixture
async def client_with(sim) -> AsyncIterator[Build]:
    """GrokClients bound to the simulator speaking the given generations."""
    made: list[GrokClient] = []

    def build(
        *,
        upload: options_mod.UploadProtocol = "v2",
        media: options_mod.MediaProtocol = "media_gen_input",
    ) -> GrokClient:
        options = dataclasses.replace(
            make_options(sim.base_url), upload_protocol=upload, media_protocol=media
        )
        made.append(GrokClient(options=options))
        return made[-1]

    yield build
    for client in made:
        await client.aclose()


def sent_headers(record: dict) -> dict[str, str]:
    return {k.lower(): v for k, v in record["headers"].items()}


def form_of(record: dict) -> dict:
    return parse_multipart(record["headers"]["content-type"], record["body"].encode())


async def upload(grok: GrokClient, credential: str, **kwargs):
    return await grok.upload_file(
        credential=credential, file_name="in.png", mime_type="image/png", content=b"PNG-ish",
        **kwargs,
    )  # fmt: skip


async def test_upload_v2_sends_a_multipart_file_without_statsig(sim, client_with):
    grok = client_with(upload="v2")

    uploaded = await upload(grok, "sim-up-chat")

    (record,) = sim.requests(path=UPLOAD_V2)
    headers = sent_headers(record)
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert headers["referer"] == sim.base_url + "/"
    assert "x-statsig-id" not in headers and "x-xai-request-id" not in headers
    parts = form_of(record)
    assert set(parts) == {"file"}  # chat attachments carry no file_source
    assert parts["file"].get_filename() == "in.png"
    assert parts["file"].get_content_type() == "image/png"
    assert parts["file"].get_payload(decode=True) == b"PNG-ish"
    assert uploaded.file_id == uploaded.file_metadata_id
    assert uploaded.file_uri.endswith(f"/{uploaded.file_id}/content")
    data = b"".join(
        [c async for c in grok.download_asset(credential="sim-up-chat", path=uploaded.file_uri)]
    )
    assert data == b"PNG-ish"
    assert not sim.requests(path=UPLOAD_JSON)


async def test_an_imagine_upload_v2_is_tagged_and_sent_from_the_imagine_page(sim, client_with):
    await upload(client_with(upload="v2"), "sim-up-imagine", purpose="imagine")

    (record,) = sim.requests(path=UPLOAD_V2)
    assert sent_headers(record)["referer"] == sim.base_url + "/imagine"
    source = form_of(record)["file_source"].get_payload(decode=True)
    assert source == b"IMAGINE_SELF_UPLOAD_FILE_SOURCE"


async def test_json_upload_sends_base64_content(sim, client_with):
    grok = client_with(upload="json")

    uploaded = await upload(grok, "sim-up-json", purpose="imagine")

    (record,) = sim.requests(path=UPLOAD_JSON)
    body = record["json"]
    assert body["fileName"] == "in.png" and body["fileMimeType"] == "image/png"
    assert base64.b64decode(body["content"]) == b"PNG-ish"
    assert sent_headers(record)["referer"] == sim.base_url + "/imagine"
    assert uploaded.file_id == uploaded.file_metadata_id and uploaded.file_uri
    assert not sim.requests(path=UPLOAD_V2)


async def test_edit_through_media_gen_input_names_uploads_and_makes_one_image_a_request(
    sim, client_with
):
    grok = client_with(media="media_gen_input")
    first = await upload(grok, "sim-edit-new", purpose="imagine")
    second = await upload(grok, "sim-edit-new", purpose="imagine")
    request = ImageEditRequest(
        prompt="make it blue", images=(first, second), image_count=2, aspect_ratio="1:1"
    )

    events = await collect(grok.edit_image(credential="sim-edit-new", request=request))

    assert len([e for e in events if isinstance(e, ev.ImageFinal)]) == 2
    assert [type(e) for e in events].count(ev.Final) == 1 and isinstance(events[-1], ev.Final)
    records = sim.requests(path=CHAT)
    assert len(records) == 2  # n is 1 per request (§12 HEAD)
    assert records[0]["json"] == {
        "modelName": "imagine-image-edit",
        "message": "make it blue",
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "mediaGenInput": {
            "imageToImage": {
                "prompt": "make it blue",
                "inputAssets": [first.file_metadata_id, second.file_metadata_id],
                "aspectRatio": "1:1",
            }
        },
    }
    headers = sent_headers(records[0])
    assert headers["referer"] == sim.base_url + "/imagine" and headers["x-statsig-id"]
    assert not sim.requests(path=POSTS)


async def test_edit_through_a_media_post_names_uploads_by_asset_url(sim, client_with):
    grok = client_with(upload="json", media="media_post")
    uploaded = await upload(grok, "sim-edit-old", purpose="imagine")

    request = ImageEditRequest(prompt="make it blue", images=(uploaded,))
    events = await collect(grok.edit_image(credential="sim-edit-old", request=request))

    assert [e for e in events if isinstance(e, ev.ImageFinal)]
    (post,) = sim.requests(path=POSTS)
    assert post["json"]["mediaType"] == "MEDIA_POST_TYPE_IMAGE"
    body = sim.requests(path=CHAT)[0]["json"]
    config = body["responseMetadata"]["modelConfigOverride"]["modelMap"]["imageEditModelConfig"]
    assert config["imageReferences"] == [f"{sim.base_url}/{uploaded.file_uri}"]
    assert "mediaGenInput" not in body


async def test_an_edit_reference_without_a_file_metadata_id_is_malformed(sim, client_with):
    grok = client_with(media="media_gen_input")
    reference = dataclasses.replace(await upload(grok, "sim-edit-bad"), file_metadata_id="")

    request = ImageEditRequest(prompt="x", images=(reference,), image_count=1)
    with pytest.raises(errors.MalformedResponse):
        await collect(grok.edit_image(credential="sim-edit-bad", request=request))
    assert not sim.requests(path=CHAT)


async def test_text_to_video_through_media_gen_input_is_one_request_without_a_post(
    sim, client_with
):
    grok = client_with(media="media_gen_input")
    request = VideoRequest(prompt="waves", aspect_ratio="16:9", video_length=15, resolution="720p")

    events = await collect(grok.generate_video(credential="sim-video-new", request=request))

    (final,) = [e for e in events if isinstance(e, ev.VideoFinal)]
    assert final.url.endswith(".mp4")
    (record,) = sim.requests(path=CHAT)
    assert record["json"] == {
        "modelName": "imagine-video-gen",
        "message": "waves --mode=custom",
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "sendFinalMetadata": True,
        "responseMetadata": {"experiments": [], "modelConfigOverride": {"modelMap": {}}},
        "mediaGenInput": {
            "textToVideo": {
                "prompt": "waves",
                "aspectRatio": "16:9",
                "duration": 15,
                "resolutionName": "720p",
            }
        },
        "kind": "CONVERSATION_KIND_IMAGINE",
    }
    headers = sent_headers(record)
    assert headers["referer"] == sim.base_url + "/imagine" and headers["x-statsig-id"]
    assert not sim.requests(path=POSTS)


async def test_text_to_video_through_a_media_post_uses_the_model_map(sim, client_with):
    grok = client_with(media="media_post")

    request = VideoRequest(prompt="waves", video_length=10)
    events = await collect(grok.generate_video(credential="sim-video-old", request=request))

    assert [e for e in events if isinstance(e, ev.VideoFinal)]
    (post,) = sim.requests(path=POSTS)
    assert post["json"] == {"mediaType": "MEDIA_POST_TYPE_VIDEO", "prompt": "waves"}
    body = sim.requests(path=CHAT)[0]["json"]
    config = body["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    assert config["parentPostId"] and config["videoLength"] == 10
    assert "mediaGenInput" not in body


async def test_image_to_video_keeps_the_media_post_flow_in_the_new_generation(sim, client_with):
    grok = client_with(media="media_gen_input")
    reference = await upload(grok, "sim-video-ref", purpose="imagine")

    request = VideoRequest(prompt="dance", image=reference)
    events = await collect(grok.generate_video(credential="sim-video-ref", request=request))

    assert [e for e in events if isinstance(e, ev.VideoFinal)]
    (post,) = sim.requests(path=POSTS)
    image_url = f"{sim.base_url}/{reference.file_uri}"
    assert post["json"] == {"mediaType": "MEDIA_POST_TYPE_IMAGE", "mediaUrl": image_url}
    body = sim.requests(path=CHAT)[0]["json"]
    assert body["message"].startswith(image_url) and "mediaGenInput" not in body


async def test_an_extension_keeps_the_media_post_flow_in_the_new_generation(sim, client_with):
    grok = client_with(media="media_gen_input")
    first = await collect(
        grok.generate_video(credential="sim-video-ext", request=VideoRequest(prompt="x"))
    )
    segment = next(e for e in first if isinstance(e, ev.VideoFinal))
    extension = VideoExtension(extend_post_id=segment.post_id, elapsed_seconds=6)

    request = VideoRequest(prompt="x", parent_post_id=segment.post_id, extension=extension)
    await collect(grok.generate_video(credential="sim-video-ext", request=request))

    bodies = [r["json"] for r in sim.requests(path=CHAT)]
    assert "mediaGenInput" in bodies[0]
    config = bodies[1]["responseMetadata"]["modelConfigOverride"]["modelMap"]
    assert config["videoGenModelConfig"]["isVideoExtension"] is True


async def test_a_handle_that_sent_a_form_sends_json_and_forms_again(sim, client_with):
    grok = client_with(upload="v2")
    grok.reconfigure(
        options=dataclasses.replace(grok.options, limits=options_mod.Limits(max_connections=1))
    )

    first = await upload(grok, "sim-reuse", purpose="imagine")
    await grok.rate_limits(credential="sim-reuse", mode="auto")
    second = await upload(grok, "sim-reuse")

    assert first.file_id != second.file_id
    assert sim.requests(path="/rest/rate-limits")[0]["json"]["modelName"] == "auto"
    assert "file_source" not in form_of(sim.requests(path=UPLOAD_V2)[1])
