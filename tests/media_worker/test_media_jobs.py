"""The media handlers on the real path: simulator, token pool, Grok client, blob store."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from grok2api_jobs import EventType
from grok2api_media import jobs
from grok2api_poolclient.errors import PoolUnavailable
from grok_sim.testing import SimHandle
from media_stack import MediaStack, running_media_stack
from PIL import Image

IMAGINE = "/ws/imagine/listen"
CHAT = "/rest/app-chat/conversations/new"
MGW = "/ws/mgw/"


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[MediaStack]:
    async with running_media_stack(sim=sim, data_dir=tmp_path) as running:
        yield running


def image_job(n: int = 1, **extra: object) -> dict[str, object]:
    return {"model": "grok-imagine-1.0", "prompt": "a red fox", "n": n, **extra}


def cookies_of(sim: SimHandle, path: str) -> list[str]:
    """The cookie of each HTTP request (or WebSocket handshake) to ``path``."""
    return [r["headers"]["cookie"] for r in sim.requests(path=path) if r["method"] != "WS"]


async def test_an_image_job_returns_only_final_images_stored_in_the_blob_store(
    stack: MediaStack,
) -> None:
    await stack.add("img-1", auto=80)

    progress, final = await stack.run(jobs.KIND_IMAGE, image_job(n=2, aspect_ratio="16:9"))

    assert final.type is EventType.RESULT, final.data
    result = jobs.ImageResult.model_validate(final.data)
    assert len(result.images) == 2
    for image in result.images:
        data = await stack.blobs.read_bytes(image)
        assert len(data) >= stack.live.current.image.image_ws_final_min_bytes
        assert image.content_type == "image/jpeg" and data[:2] == b"\xff\xd8"
    values = [jobs.Progress.model_validate(p.data).progress for p in progress]
    assert values == sorted(values) and len(set(values)) == len(values)
    sent = stack.sim.requests(path=IMAGINE)
    assert any('"aspect_ratio":"16:9"' in str(r.get("body")) for r in sent)


async def test_partials_are_stored_previews_published_as_progress(stack: MediaStack) -> None:
    await stack.add("img-1", auto=80)

    progress, final = await stack.run(jobs.KIND_IMAGE, image_job(n=1, partials=True))

    assert final.type is EventType.RESULT
    partials = [jobs.Progress.model_validate(p.data) for p in progress]
    partials = [p for p in partials if p.partial is not None]
    assert [p.index for p in partials] == list(range(len(partials))) and partials
    final_image = jobs.ImageResult.model_validate(final.data).images[0]
    for event in partials:
        assert event.partial is not None
        preview = await stack.blobs.read_bytes(event.partial)
        assert len(preview) < stack.live.current.image.image_ws_final_min_bytes
        assert event.partial.id != final_image.id


async def test_n_is_honoured_by_parallel_sessions_across_accounts(stack: MediaStack) -> None:
    for n in range(3):
        await stack.add(f"img-{n}", auto=80)

    _, final = await stack.run(jobs.KIND_IMAGE, image_job(n=10))

    images = jobs.ImageResult.model_validate(final.data).images
    assert len(images) == 10 and len({image.id for image in images}) == 10
    assert len(cookies_of(stack.sim, IMAGINE)) >= 3  # 4 + 4 + 2, one session each


async def test_a_blocked_generation_is_retried_on_another_account(stack: MediaStack) -> None:
    await stack.add("img-a", auto=80)
    await stack.add("img-b", auto=80)
    stack.sim.set_fault("imagine-no-final", times=1)  # whichever account comes first

    _, final = await stack.run(jobs.KIND_IMAGE, image_job(n=1))

    assert final.type is EventType.RESULT, final.data
    cookies = cookies_of(stack.sim, IMAGINE)
    assert len(cookies) == 2
    assert {"img-a" in cookie for cookie in cookies} == {True, False}  # one of each
    for credential in ("img-a", "img-b"):  # a blocked prompt is not the account's failure
        assert (await stack.pool.get_account(stack.ids[credential])).status == "active"


async def test_a_generation_blocked_everywhere_fails_with_a_clear_error(
    stack: MediaStack,
) -> None:
    await stack.add("img-a", auto=80)
    await stack.add("img-b", auto=80)
    stack.sim.set_fault("moderated")

    _, final = await stack.run(jobs.KIND_IMAGE, image_job(n=1))

    assert final.type is EventType.ERROR
    assert final.data["code"] == "upstream_content_blocked"
    assert final.data["status"] == 400
    assert "rephrase" in final.data["message"]


def drawing_turns(sim: SimHandle, protocol: str) -> list[tuple[str, str]]:
    """(mode, prompt) of each chat turn sent, on either chat generation."""
    if protocol == "rest":
        return [(r["json"]["modeId"], r["json"]["message"]) for r in sim.requests(path=CHAT)]
    frames = [r["json"]["event"] for r in sim.requests(path=MGW) if r["method"] == "WS"]
    modes = [f["session"]["model"] for f in frames if f["type"] == "session.create"]
    prompts = [f["item"]["x_grok"]["input_chunks"][-1]["text"]["text"]
               for f in frames if f["type"] == "conversation.item.create"]  # fmt: skip
    return list(zip(modes, prompts, strict=True))


@pytest.mark.parametrize("protocol", ["mgw", "rest"])
async def test_a_refused_websocket_falls_back_to_chat_based_generation(
    sim: SimHandle, tmp_path: Path, protocol: str
) -> None:
    chat_protocol = {"chat_protocol": protocol}
    async with running_media_stack(sim=sim, data_dir=tmp_path, network=chat_protocol) as stack:
        await stack.add("img-1", auto=80, fast=80)
        stack.sim.set_fault("404", path=IMAGINE)

        _, final = await stack.run(jobs.KIND_IMAGE, image_job(n=2))

    assert final.type is EventType.RESULT, final.data
    assert len(jobs.ImageResult.model_validate(final.data).images) == 2
    turns = drawing_turns(sim, protocol)
    assert turns and turns[0] == ("fast", "Drawing: a red fox")


async def test_with_the_websocket_off_images_come_from_chat(sim: SimHandle, tmp_path: Path) -> None:
    async with running_media_stack(
        sim=sim, data_dir=tmp_path, image={"image_ws": False}
    ) as stack:
        await stack.add("img-1", auto=80, fast=80)
        _, final = await stack.run(jobs.KIND_IMAGE, image_job(n=1))

    assert final.type is EventType.RESULT, final.data
    assert not sim.requests(path=IMAGINE)


# Image edit and video run on every pairing of the media generation (network.media_protocol)
# and the upload generation (network.upload_protocol): the handlers must not depend on them.
GENERATIONS = [
    pytest.param({"media_protocol": "media_gen_input", "upload_protocol": "v2"}, id="aug"),
    pytest.param({"media_protocol": "media_post", "upload_protocol": "json"}, id="feb"),
    pytest.param({"media_protocol": "media_gen_input", "upload_protocol": "json"},
                 id="aug-media-json-upload"),
    pytest.param({"media_protocol": "media_post", "upload_protocol": "v2"},
                 id="feb-media-v2-upload"),
]  # fmt: skip
POSTS = "/rest/media/post/create"


@pytest.fixture(params=GENERATIONS)
async def media_stack(
    request: pytest.FixtureRequest, sim: SimHandle, tmp_path: Path
) -> AsyncIterator[MediaStack]:
    async with running_media_stack(sim=sim, data_dir=tmp_path, network=request.param) as running:
        yield running


def media_gen_input(stack: MediaStack) -> bool:
    return stack.live.current.network.media_protocol == "media_gen_input"


def uploads_of(stack: MediaStack) -> list[dict[str, Any]]:
    """The upload requests, on the path of the configured upload generation."""
    if stack.live.current.network.upload_protocol == "v2":
        return stack.sim.requests(path="/http/upload-file-v2/direct")
    return stack.sim.requests(path="/rest/app-chat/upload-file")


def video_spec(body: dict[str, Any]) -> tuple[str, int, str]:
    """(aspect ratio, seconds, resolution) of a video request in either generation."""
    if "mediaGenInput" in body:
        spec = body["mediaGenInput"]["textToVideo"]
        return spec["aspectRatio"], spec["duration"], spec["resolutionName"]
    config = body["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    return config["aspectRatio"], config["videoLength"], config["resolutionName"]


def png_bytes(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG")
    return buffer.getvalue()


async def test_an_edit_uploads_the_references_and_returns_n_images(
    media_stack: MediaStack,
) -> None:
    stack = media_stack
    await stack.add("edit-1", auto=80)
    references = [
        await stack.blobs.put_bytes("upload", png_bytes(color), content_type="image/png")
        for color in ("red", "blue")
    ]
    payload = {"model": "grok-imagine-1.0-edit", "prompt": "make it green", "n": 3,
               "images": [f.model_dump() for f in references], "aspect_ratio": "1:1"}

    _, final = await stack.run(jobs.KIND_IMAGE_EDIT, payload)

    assert final.type is EventType.RESULT, final.data
    assert len(jobs.ImageResult.model_validate(final.data).images) == 3
    assert len(uploads_of(stack)) == 2  # each reference once per account, for every turn on it
    edits = [r["json"] for r in stack.sim.requests(path=CHAT)]
    if media_gen_input(stack):
        assert len(edits) == 3  # one image a request (§12 HEAD)
        edit = edits[0]["mediaGenInput"]["imageToImage"]
        assert len(edit["inputAssets"]) == 2 and edit["aspectRatio"] == "1:1"
        assert not stack.sim.requests(path=POSTS)
    else:
        assert len(edits) == 2  # two images a turn
        config = edits[0]["responseMetadata"]["modelConfigOverride"]["modelMap"]
        assert len(config["imageEditModelConfig"]["imageReferences"]) == 2


def video_job(**extra: object) -> dict[str, object]:
    return {"model": "grok-imagine-1.0-video", "prompt": "waves", "seconds": 6, **extra}


async def test_a_video_job_stores_the_video_and_its_thumbnail(media_stack: MediaStack) -> None:
    stack = media_stack
    await stack.add("vid-1", auto=80)

    progress, final = await stack.run(jobs.KIND_VIDEO, video_job(aspect_ratio="16:9"))

    assert final.type is EventType.RESULT, final.data
    result = jobs.VideoResult.model_validate(final.data)
    video = await stack.blobs.read_bytes(result.video)
    assert result.video.content_type == "video/mp4" and video[4:8] == b"ftyp"
    assert result.thumbnail is not None and result.thumbnail.kind == "image"
    assert result.resolution == "480p" and not result.upscaled
    stages = {jobs.Progress.model_validate(p.data).stage for p in progress}
    assert {"started", "generating", "downloading"} <= stages
    (body,) = [r["json"] for r in stack.sim.requests(path=CHAT)]
    assert video_spec(body) == ("16:9", 6, "480p")
    assert ("mediaGenInput" in body) == media_gen_input(stack)
    assert bool(stack.sim.requests(path=POSTS)) != media_gen_input(stack)


async def test_a_15_second_video_is_one_request(media_stack: MediaStack) -> None:
    stack = media_stack
    await stack.add("vid-1", auto=80)

    _, final = await stack.run(jobs.KIND_VIDEO, video_job(seconds=15))

    assert jobs.VideoResult.model_validate(final.data).seconds == 15
    (body,) = [r["json"] for r in stack.sim.requests(path=CHAT)]
    assert video_spec(body)[1] == 15


async def test_720p_prefers_a_super_account(media_stack: MediaStack) -> None:
    stack = media_stack
    await stack.add("vid-basic", auto=80)
    await stack.add("vid-super", tier="super", auto=80)

    _, final = await stack.run(jobs.KIND_VIDEO, video_job(resolution="720p"))

    assert jobs.VideoResult.model_validate(final.data).resolution == "720p"
    assert all("vid-super" in c for c in cookies_of(stack.sim, CHAT))
    assert not stack.sim.requests(path="/rest/media/video/upscale")


async def test_720p_on_a_basic_account_generates_480p_and_upscales(
    media_stack: MediaStack,
) -> None:
    stack = media_stack
    await stack.add("vid-basic", auto=80)

    _, final = await stack.run(jobs.KIND_VIDEO, video_job(resolution="720p"))

    result = jobs.VideoResult.model_validate(final.data)
    assert result.resolution == "720p" and result.upscaled
    body = stack.sim.requests(path=CHAT)[0]["json"]
    assert video_spec(body)[2] == "480p"
    assert len(stack.sim.requests(path="/rest/media/video/upscale")) == 1


async def test_a_reference_image_becomes_an_image_post(media_stack: MediaStack) -> None:
    stack = media_stack  # the August generation documents text-to-video only
    await stack.add("vid-1", auto=80)
    reference = await stack.blobs.put_bytes("upload", png_bytes(), content_type="image/png")

    _, final = await stack.run(jobs.KIND_VIDEO, video_job(image=reference.model_dump()))

    assert final.type is EventType.RESULT, final.data
    assert len(uploads_of(stack)) == 1
    posts = stack.sim.requests(path=POSTS)
    assert posts[0]["json"]["mediaType"] == "MEDIA_POST_TYPE_IMAGE"
    assert "mediaGenInput" not in stack.sim.requests(path=CHAT)[0]["json"]


async def test_an_account_refused_the_product_is_passed_over_not_blamed(
    media_stack: MediaStack,
) -> None:
    stack = media_stack
    await stack.add("vid-refused", auto=80)
    await stack.add("vid-fine", auto=80)
    refusing = CHAT if media_gen_input(stack) else POSTS  # the generation's first request
    stack.sim.set_fault("403", account="vid-refused", path=refusing)

    first = [await stack.run(jobs.KIND_VIDEO, video_job()) for _ in range(2)]

    assert all(final.type is EventType.RESULT for _, final in first)
    refused = await stack.pool.get_account(stack.ids["vid-refused"])
    assert refused.status == "active" and refused.fail_count == 0
    assert list(refused.refused_products) == ["video"]
    tried = cookies_of(stack.sim, refusing)
    assert sum("vid-refused" in cookie for cookie in tried) <= 1  # not picked again for video


async def test_a_cancelled_job_stops_upstream_and_releases_its_lease(
    media_stack: MediaStack, eventually: Any
) -> None:
    stack = media_stack
    account_id = await stack.add("vid-slow", auto=80)
    stack.sim.set_fault("slow-tokens", delay_ms=300)  # a video that takes seconds
    job_id = await stack.queue.submit(jobs.KIND_VIDEO, video_job())

    async def inflight() -> int:
        return (await stack.pool.get_account(account_id)).inflight

    async def generating() -> bool:
        return bool(stack.sim.requests(path=CHAT)) and await inflight() == 1

    async def released() -> bool:
        return await inflight() == 0 and stack.worker.in_flight == 0

    await eventually(generating)
    assert await stack.queue.cancel(job_id)
    await eventually(released)

    record = await stack.queue.record(job_id)
    assert record is not None and record.status == "cancelled"


def pool_down_for(
    stack: MediaStack, monkeypatch: pytest.MonkeyPatch, calls: int | None
) -> list[int]:
    """Make the pool's acquire fail as unreachable ``calls`` times (None: always)."""
    acquire, failed = stack.pool.acquire, [0]

    async def flaky(**kwargs: Any) -> Any:
        if calls is None or failed[0] < calls:
            failed[0] += 1
            raise PoolUnavailable("token pool call failed: UNAVAILABLE")
        return await acquire(**kwargs)

    monkeypatch.setattr(stack.pool, "acquire", flaky)
    return failed


async def test_a_job_waits_out_a_token_pool_that_is_briefly_unreachable(
    stack: MediaStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.add("img-1", auto=80)
    failed = pool_down_for(stack, monkeypatch, calls=2)

    _, final = await stack.run(jobs.KIND_IMAGE, image_job())

    assert final.type is EventType.RESULT, final.data
    assert failed == [2] and len(cookies_of(stack.sim, IMAGINE)) == 1


async def test_a_token_pool_unreachable_past_the_retry_budget_fails_the_job_clearly(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = {"retry_budget": 0.3}
    async with running_media_stack(sim=sim, data_dir=tmp_path, retry=budget) as stack:
        await stack.add("img-1", auto=80)
        failed = pool_down_for(stack, monkeypatch, calls=None)

        _, final = await stack.run(jobs.KIND_IMAGE, image_job())

    assert final.type is EventType.ERROR
    assert final.data["code"] == "pool_unavailable" and failed[0] >= 2
    assert "could not be reached" in final.data["message"]
    assert not stack.sim.requests(path=IMAGINE)
