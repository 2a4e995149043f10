"""The requests grok_web sends pass the simulator's protocol checks (no 400 answers,
which would raise RequestRejected) and carry the documented headers and body fields."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from grok_web import ChatRequest, ImageEditRequest, ImagineRequest, VideoRequest, headers
from grok_web import events as ev
from grok_web_helpers import collect

CREDENTIAL = "sim-conformance"
# "Priority" is built (headers.HeaderFactory) but curl-impersonate drops it on cleartext
# HTTP/1.1, so the simulator never sees it; over TLS the impersonated HTTP/2 stack sends it.
REST_HEADERS = (
    "accept",
    "accept-language",
    "baggage",
    "content-type",
    "origin",
    "referer",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "user-agent",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-ch-ua-arch",
    "sec-ch-ua-bitness",
    "sec-ch-ua-model",
    "cookie",
    "x-statsig-id",
    "x-xai-request-id",
)
# The upload and media generations (network.upload_protocol, network.media_protocol) and
# the paths only each of them uses.
GENERATIONS = {
    "august": ("v2", "media_gen_input", {"/http/upload-file-v2/direct"}),
    "february": ("json", "media_post", {"/rest/app-chat/upload-file", "/rest/media/post/create"}),
}


@pytest.fixture(params=list(GENERATIONS))
def generation(request, grok):
    """``grok`` speaking one upload and media generation, and the paths only it uses."""
    upload, media, paths = GENERATIONS[request.param]
    grok.reconfigure(
        options=dataclasses.replace(grok.options, upload_protocol=upload, media_protocol=media)
    )
    return grok, paths


async def run_every_operation(grok) -> None:
    await collect(grok.chat(credential=CREDENTIAL, request=ChatRequest(message="hello")))
    await grok.usage(credential=CREDENTIAL)
    uploaded = await grok.upload_file(
        credential=CREDENTIAL, file_name="a.png", mime_type="image/png", content=b"\x89PNG"
    )
    [chunk async for chunk in grok.download_asset(credential=CREDENTIAL, path=uploaded.file_uri)]
    await grok.list_assets(credential=CREDENTIAL)
    await collect(grok.imagine(credential=CREDENTIAL, request=ImagineRequest(prompt="sun")))
    edit = ImageEditRequest(prompt="blue", images=(uploaded,), image_count=1)
    await collect(grok.edit_image(credential=CREDENTIAL, request=edit))
    video = await collect(
        grok.generate_video(credential=CREDENTIAL, request=VideoRequest(prompt="x"))
    )
    final = next(e for e in video if isinstance(e, ev.VideoFinal))
    await grok.upscale_video(credential=CREDENTIAL, video_id=final.video_id)
    await grok.create_share_link(credential=CREDENTIAL, post_id=final.post_id)
    await grok.delete_asset(credential=CREDENTIAL, asset_id=uploaded.file_id)
    await grok.accept_tos(credential=CREDENTIAL)
    await grok.set_birth_date(credential=CREDENTIAL)
    await grok.set_nsfw(credential=CREDENTIAL, enabled=True)


async def test_every_request_is_accepted_and_documented(sim, generation):
    grok, own_paths = generation
    await run_every_operation(grok)
    recorded = sim.requests()
    paths = {r["path"] for r in recorded}
    assert not paths & (set().union(*(g[2] for g in GENERATIONS.values())) - own_paths)
    assert own_paths | {
        "/rest/app-chat/conversations/new",
        "/rest/rate-limits",
        "/rest/assets",
        "/ws/imagine/listen",
        "/rest/media/video/upscale",
        "/rest/media/post/create-link",
        "/rest/auth/set-birth-date",
        "/auth_mgmt.AuthManagement/SetTosAcceptedVersion",
        "/auth_mgmt.AuthManagement/UpdateUserFeatureControls",
    } <= paths
    for request in recorded:
        if request["method"] == "WS":  # frames inside the WebSocket carry no headers
            continue
        sent = {k.lower(): v for k, v in request["headers"].items()}
        assert "upgrade" not in sent or request["path"] in {"/ws/imagine/listen", "/ws/mgw/"}
        assert f"sso={CREDENTIAL}" in sent["cookie"] and f"sso-rw={CREDENTIAL}" in sent["cookie"]
        if request["path"].startswith("/rest/"):
            missing = [name for name in REST_HEADERS if not sent.get(name)]
            assert not missing, (request["path"], missing)
            assert sent["baggage"] == headers.BAGGAGE
            assert base64.b64decode(sent["x-statsig-id"]).startswith(b"e:TypeError")
        if request["path"].startswith("/http/"):  # upload v2 (§9.2)
            assert "x-statsig-id" not in sent and "x-xai-request-id" not in sent
            assert sent["content-type"].startswith("multipart/form-data; boundary=")


def _one(sim, path):
    return sim.requests(path=path)[-1]


async def test_chat_body_is_the_v2_shape(sim, rest_grok):
    request = ChatRequest(message="hi", model="grok-4-heavy", file_attachments=("f-1",))
    sim.add_account(CREDENTIAL, tier="super")
    await collect(rest_grok.chat(credential=CREDENTIAL, request=request))
    body = _one(sim, "/rest/app-chat/conversations/new")["json"]
    assert body["modeId"] == "heavy"
    assert "modelName" not in body and "modelMode" not in body
    assert body["fileAttachments"] == ["f-1"]
    assert body["temporary"] is True and body["disableMemory"] is True
    assert body["sendFinalMetadata"] is True and body["enableImageStreaming"] is True
    assert body["toolOverrides"]["gmailSearch"] is False
    assert body["responseMetadata"] == {}
    assert body["deviceEnvInfo"]["screenWidth"] == 2056


async def test_media_and_account_bodies(sim, grok):
    options = dataclasses.replace(grok.options, upload_protocol="json", media_protocol="media_post")
    grok.reconfigure(options=options)  # the February generation's media bodies
    await run_every_operation(grok)
    assert _one(sim, "/rest/rate-limits")["json"]["modelName"] in {
        "auto",
        "fast",
        "expert",
        "heavy",
    }
    video = [
        r["json"]
        for r in sim.requests(path="/rest/app-chat/conversations/new")
        if r["json"].get("toolOverrides", {}).get("videoGen")
    ][-1]
    config = video["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    assert video["modelName"] == "grok-3" and config["parentPostId"]
    assert video["message"].endswith("--mode=custom")
    tos = _one(sim, "/auth_mgmt.AuthManagement/SetTosAcceptedVersion")
    sent = {k.lower(): v for k, v in tos["headers"].items()}
    assert sent["content-type"] == "application/grpc-web+proto"
    assert sent["x-grpc-web"] == "1" and sent["x-user-agent"] == "connect-es/2.1.1"
    assert sent["origin"] == sim.base_url and sent["referer"].endswith("/accept-tos")
    ws_records = sim.requests(path="/ws/imagine/listen")
    handshake = next(r for r in ws_records if r["method"] == "GET")
    listen = {k.lower(): v for k, v in handshake["headers"].items()}
    assert "x-statsig-id" not in listen and listen["origin"] == sim.base_url
    messages = [r["json"] for r in ws_records if r["method"] == "WS"]
    assert messages[0]["item"]["content"] == [{"type": "reset"}]
    prompt = messages[1]["item"]["content"][0]
    assert prompt["type"] == "input_text" and prompt["properties"]["enable_side_by_side"] is True
    assets = next(r for r in sim.requests(path="/rest/assets") if r["path"] == "/rest/assets")
    assert "pageSize=50" in assets["query"] and "orderBy=ORDER_BY_LAST_USE_TIME" in assets["query"]
