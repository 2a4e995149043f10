"""OpenAI's asynchronous Videos API (``client.videos.*``) over job records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from grok2api_media import jobs as media_jobs
from grok2api_settings import Settings
from grok2api_storage import load_cipher, open_store
from grok2api_storage.records import ClientKeyLimits
from media_fakes import VIDEO_BYTES, MediaGateway, failing, hang, media_gateway, png

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[MediaGateway]:
    async with media_gateway(tmp_path) as running:
        yield running


async def until_done(client: openai.AsyncOpenAI, video_id: str) -> Any:
    async with asyncio.timeout(5):
        while True:
            video = await client.videos.retrieve(video_id)
            if video.status in ("completed", "failed"):
                return video
            await asyncio.sleep(0.02)


async def test_create_retrieve_and_download(gw: MediaGateway) -> None:
    client = gw.client()
    video = await client.videos.create(prompt="a cat walks", seconds="8", size="1280x720")
    assert video.id.startswith("video_") and video.object == "video"
    assert video.status in ("queued", "in_progress")
    assert (video.seconds, video.size, video.prompt) == ("10", "1280x720", "a cat walks")
    assert video.model == "grok-imagine-1.0-video"
    job = media_jobs.VideoJob.model_validate(gw.worker.last().payload)
    assert (job.seconds, job.aspect_ratio, job.resolution, job.image) == (10, "16:9", "720p", None)
    done = await until_done(client, video.id)
    assert done.status == "completed" and done.progress == 100
    assert done.completed_at is not None and done.completed_at >= done.created_at
    assert done.expires_at is not None and done.error is None
    content = await client.videos.download_content(video.id)
    assert content.content == VIDEO_BYTES
    thumbnail = await client.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.content.startswith(b"\xff\xd8\xff")


async def test_content_is_served_with_ranges(gw: MediaGateway) -> None:
    client = gw.client()
    video = await client.videos.create(prompt="x")
    await until_done(client, video.id)
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{gw.base_url}/v1/videos/{video.id}/content",
                                  headers={"range": "bytes=0-9"})  # fmt: skip
    assert response.status_code == 206 and response.content == VIDEO_BYTES[:10]
    assert response.headers["content-type"] == "video/mp4"


async def test_input_reference_and_defaults(gw: MediaGateway) -> None:
    reference = png(color="orange")
    video = await gw.client().videos.create(
        prompt="x", input_reference=("ref.png", reference, "image/png")
    )
    assert (video.seconds, video.size) == ("6", "720x1280")
    job = media_jobs.VideoJob.model_validate(gw.worker.last().payload)
    assert (job.aspect_ratio, job.resolution, job.seconds) == ("9:16", "720p", 6)
    assert job.image is not None and job.image.kind == "upload"
    assert await gw.blobs.read_bytes(job.image) == reference


async def test_json_body_with_extras(gw: MediaGateway) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(gw.base_url + "/v1/videos", json={
            "prompt": "x", "model": "sora-2-pro", "seconds": 15, "aspect_ratio": "1:1",
            "resolution": "480p", "preset": "spicy", "upscale": True,
        })  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["size"] == "480x480" and response.json()["seconds"] == "15"
    job = media_jobs.VideoJob.model_validate(gw.worker.last().payload)
    assert (job.aspect_ratio, job.resolution, job.preset, job.upscale, job.seconds) == (
        "1:1", "480p", "spicy", True, 15
    )


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"seconds": "5"}, "seconds"), ({"size": "640x480"}, "size"),
     ({"model": "grok-4"}, "model"), ({"prompt": ""}, "prompt"),
     ({"input_reference": ("a.gif", b"GIF89a....", "image/gif")}, "input_reference")],
)
async def test_create_refusals_name_the_param(
    gw: MediaGateway, kwargs: dict[str, Any], param: str
) -> None:
    kwargs.setdefault("prompt", "x")
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().videos.create(**kwargs)
    assert caught.value.body["param"] == param  # type: ignore[index]


async def test_list_pages_through_every_video(gw: MediaGateway) -> None:
    client = gw.client()
    created = [(await client.videos.create(prompt=f"v{i}")).id for i in range(5)]
    first = await client.videos.list(limit=2)
    assert [video.id for video in first.data] == created[::-1][:2]
    assert first.has_more is True
    everything = [video.id async for video in client.videos.list(limit=2)]
    assert everything == created[::-1]
    ascending = [video.id async for video in client.videos.list(limit=3, order="asc")]
    assert ascending == created
    async with httpx2.AsyncClient() as http:
        page = (await http.get(gw.base_url + "/v1/videos", params={"limit": 2,
                                                                  "after": created[3]})).json()
        bad_limit = await http.get(gw.base_url + "/v1/videos", params={"limit": 101})
    assert page["object"] == "list" and page["first_id"] == created[2]
    assert page["last_id"] == created[1] and page["has_more"] is True
    assert bad_limit.status_code == 400 and bad_limit.json()["error"]["param"] == "limit"


async def test_delete_forgets_the_video_and_its_files(gw: MediaGateway) -> None:
    client = gw.client()
    video = await client.videos.create(prompt="x")
    await until_done(client, video.id)
    deleted = await client.videos.delete(video.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (video.id, "video.deleted", True)
    with pytest.raises(openai.NotFoundError):
        await client.videos.retrieve(video.id)
    assert await gw.blobs.usage() == (0, 0)  # the video and its thumbnail


async def test_unknown_ids_are_404(gw: MediaGateway) -> None:
    client = gw.client()
    for video_id in ("video_" + "0" * 32, "video_nope", "abc"):
        with pytest.raises(openai.NotFoundError) as caught:
            await client.videos.retrieve(video_id)
        assert caught.value.code == "video_not_found"
    with pytest.raises(openai.NotFoundError):
        await client.videos.delete("video_" + "1" * 32)


async def test_content_of_an_unfinished_video_is_a_409(gw: MediaGateway) -> None:
    gw.worker.scripts[media_jobs.KIND_VIDEO] = hang
    client = gw.client()
    video = await client.videos.create(prompt="x")
    with pytest.raises(openai.ConflictError) as caught:
        await client.videos.download_content(video.id)
    assert caught.value.code == "video_not_ready"
    running = await client.videos.retrieve(video.id)
    assert running.status == "in_progress" and 0 < running.progress < 100


async def test_failed_and_cancelled_videos(gw: MediaGateway) -> None:
    client = gw.client()
    gw.worker.scripts[media_jobs.KIND_VIDEO] = failing("content_blocked", "blocked", 400)
    failed = await until_done(client, (await client.videos.create(prompt="x")).id)
    assert failed.status == "failed"
    assert (failed.error.code, failed.error.message) == ("content_blocked", "blocked")
    gw.worker.scripts[media_jobs.KIND_VIDEO] = hang
    video = await client.videos.create(prompt="y")
    await gw.queue.cancel(video.id.removeprefix("video_"))
    cancelled = await client.videos.retrieve(video.id)
    assert cancelled.status == "failed" and cancelled.error is not None
    assert cancelled.error.code == "cancelled"


async def test_a_video_job_runs_on_without_its_client(gw: MediaGateway) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(gw.base_url + "/v1/videos", data={"prompt": "x"},
                                   files={"input_reference": ("a.png", png(), "image/png")})
    video_id = response.json()["id"]
    record = await gw.wait_status(video_id.removeprefix("video_"), "completed")
    assert record.result is not None


async def test_json_input_reference_takes_an_image_url(gw: MediaGateway) -> None:
    import base64

    reference = png(color="pink")
    uri = "data:image/png;base64," + base64.b64encode(reference).decode()
    async with httpx2.AsyncClient() as http:
        ok = await http.post(gw.base_url + "/v1/videos", json={
            "prompt": "x", "input_reference": {"image_url": uri}})
        by_id = await http.post(gw.base_url + "/v1/videos", json={
            "prompt": "x", "input_reference": {"file_id": "file-123"}})
    assert ok.status_code == 200, ok.text
    job = media_jobs.VideoJob.model_validate(gw.worker.last().payload)
    assert job.image is not None and await gw.blobs.read_bytes(job.image) == reference
    assert by_id.status_code == 400
    assert by_id.json()["error"]["param"] == "input_reference"


async def test_a_client_key_sees_only_its_own_videos_and_spends_its_tagged_accounts(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path)})
    store = await open_store(settings, cipher=load_cipher(settings, allow_generate=True))
    await store.migrate()
    try:
        mine = await store.client_keys.create(
            name="mine", limits=ClientKeyLimits(account_tags=("team-a",))
        )
        theirs = await store.client_keys.create(name="theirs")
        async with media_gateway(tmp_path, client_keys=store.client_keys) as gw:
            owner, other = gw.client(api_key=mine.plain_key), gw.client(api_key=theirs.plain_key)
            video = await owner.videos.create(prompt="a cat walks")
            record = await gw.record(video.id.removeprefix("video_"))
            assert record.owner == mine.record.id
            await gw.worker.claimed.wait()
            assert gw.worker.jobs[-1].payload["account_tags"] == ["team-a"]

            assert [v.id async for v in owner.videos.list()] == [video.id]
            assert [v.id async for v in other.videos.list()] == []
            with pytest.raises(openai.NotFoundError):
                await other.videos.retrieve(video.id)
            with pytest.raises(openai.NotFoundError):
                await other.videos.delete(video.id)
            assert (await until_done(owner, video.id)).status == "completed"
    finally:
        await store.aclose()
