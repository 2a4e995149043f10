"""``/v1/images/generations`` and ``/v1/images/edits`` through the official SDK, against the
real app, a real in-process job queue and blob store, and a scripted fake worker."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from grok2api_jobs import JobStatus
from grok2api_media import jobs as media_jobs
from media_fakes import MediaGateway, failing, hang, jpeg, media_gateway, png
from prometheus_client import REGISTRY


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[MediaGateway]:
    async with media_gateway(tmp_path) as running:
        yield running


async def fetch(url: str) -> bytes:
    async with httpx2.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        return response.content


async def test_generate_answers_urls_of_the_stored_images(gw: MediaGateway) -> None:
    counted = {"route": "/v1/images/generations", "model": "grok-imagine-1.0", "status": "200"}
    before = REGISTRY.get_sample_value("grok2api_gateway_requests_total", counted) or 0.0
    answer = await gw.client().images.generate(prompt="a red square", response_format="url")
    assert answer.data is not None and len(answer.data) == 1
    url = answer.data[0].url
    assert url is not None and url.startswith(gw.base_url + "/v1/files/image/")
    assert await fetch(url) == gw.worker.made[0]
    assert answer.usage is not None and answer.usage.total_tokens == 0
    job = gw.worker.last()
    assert job.kind == media_jobs.KIND_IMAGE
    assert job.payload == {"model": "grok-imagine-1.0", "prompt": "a red square", "n": 1,
                           "aspect_ratio": "2:3", "partials": False}
    record = await gw.record(job.id)
    assert record.status is JobStatus.COMPLETED
    assert record.metadata["model"] == "grok-imagine-1.0"
    after = REGISTRY.get_sample_value("grok2api_gateway_requests_total", counted)
    assert after == before + 1


async def test_a_plain_request_waits_for_the_result_without_reading_progress(
    gw: MediaGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_following(job_id: str) -> Any:
        raise AssertionError("a plain image request read the job's events")

    monkeypatch.setattr(gw.queue, "events", no_following)
    answer = await gw.client().images.generate(prompt="a red square", response_format="url")
    assert answer.data is not None and len(answer.data) == 1
    assert answer.data[0].url is not None
    assert await fetch(answer.data[0].url) == gw.worker.made[-1]


@pytest.mark.parametrize("response_format", ["b64_json", "base64"])
async def test_generate_inlines_base64_images(gw: MediaGateway, response_format: str) -> None:
    answer = await gw.client().images.generate(
        prompt="three squares", n=3, extra_body={"response_format": response_format}
    )
    assert answer.data is not None
    decoded = [base64.b64decode(item.b64_json or "") for item in answer.data]
    assert decoded == gw.worker.made[-3:]
    assert len(set(decoded)) == 3
    assert gw.worker.last().payload["n"] == 3


async def test_image_format_base64_is_the_default_response_format(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, app={"image_format": "base64"}) as gw:
        answer = await gw.client().images.generate(prompt="x")
        assert answer.data is not None and answer.data[0].url is None
        assert base64.b64decode(answer.data[0].b64_json or "") == gw.worker.made[0]


@pytest.mark.parametrize(
    ("size", "ratio"),
    [("1280x720", "16:9"), ("720x1280", "9:16"), ("512x512", "1:1"), ("1024x1536", "2:3"),
     ("1024x768", "3:2"), ("auto", "2:3"), ("3:2", "3:2")],
)
async def test_size_is_submitted_as_an_aspect_ratio(
    gw: MediaGateway, size: str, ratio: str
) -> None:
    await gw.client().images.generate(prompt="x", size=size)  # type: ignore[arg-type]
    assert gw.worker.last().payload["aspect_ratio"] == ratio


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"size": "256x256"}, "size"),
        ({"n": 11}, "n"),
        ({"prompt": "  "}, "prompt"),
        ({"response_format": "png"}, "response_format"),
        ({"model": "grok-4"}, "model"),
    ],
)
async def test_bad_parameters_are_400s_naming_them(
    gw: MediaGateway, kwargs: dict[str, Any], param: str
) -> None:
    kwargs.setdefault("prompt", "x")
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().images.generate(**kwargs)
    assert caught.value.body["param"] == param  # type: ignore[index]
    assert gw.worker.jobs == []


async def test_an_unknown_model_is_404(gw: MediaGateway) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await gw.client().images.generate(prompt="x", model="dall-e-3")
    assert caught.value.code == "model_not_found"


async def test_quality_style_and_friends_are_ignored(gw: MediaGateway) -> None:
    answer = await gw.client().images.generate(
        prompt="x", quality="hd", style="vivid", background="auto", output_format="png", user="u"
    )
    assert answer.data is not None and len(answer.data) == 1


async def test_stream_sends_partials_then_completed_images(gw: MediaGateway) -> None:
    stream = await gw.client().images.generate(prompt="x", n=2, stream=True, partial_images=1)
    events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert kinds == ["image_generation.partial_image"] * 2 + ["image_generation.completed"] * 2
    assert [e.partial_image_index for e in events[:2]] == [0, 0]  # type: ignore[union-attr]
    completed = [base64.b64decode(event.b64_json) for event in events[2:]]
    assert completed == gw.worker.made[-2:]
    assert events[2].usage.total_tokens == 0  # type: ignore[union-attr]
    assert events[2].output_format == "png"
    assert gw.worker.last().payload["partials"] is True


async def test_stream_shows_progress_as_sse_comments(gw: MediaGateway) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            gw.base_url + "/v1/images/generations",
            json={"prompt": "x", "stream": True},
        )
    text = response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert ": progress 10%" in text and ": progress 90%" in text
    assert "event: image_generation.completed" in text
    assert "[DONE]" not in text


async def test_stream_allows_at_most_two_images(gw: MediaGateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().images.generate(prompt="x", n=3, stream=True)
    assert caught.value.body["param"] == "n"  # type: ignore[index]


async def test_an_error_event_is_answered_with_its_status(gw: MediaGateway) -> None:
    gw.worker.scripts[media_jobs.KIND_IMAGE] = failing(
        "content_blocked", "The upstream blocked this prompt.", 400
    )
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().images.generate(prompt="x")
    assert caught.value.code == "content_blocked"
    assert caught.value.body["message"] == "The upstream blocked this prompt."  # type: ignore[index]
    gw.worker.scripts[media_jobs.KIND_IMAGE] = failing(
        "rate_limited", "Every account is rate limited.", 429, retry_after=30
    )
    with pytest.raises(openai.RateLimitError) as limited:
        await gw.client().images.generate(prompt="x")
    assert limited.value.code == "rate_limited"
    assert "30 s" in limited.value.message


async def test_an_error_event_mid_stream_ends_it_with_an_error(gw: MediaGateway) -> None:
    gw.worker.scripts[media_jobs.KIND_IMAGE] = failing("upstream_unavailable", "down", 502)
    stream = await gw.client().images.generate(prompt="x", stream=True)
    # The error arrives after a progress comment started the stream (or as the answer).
    with pytest.raises(openai.APIError) as caught:
        async for _ in stream:
            pass
    assert "down" in caught.value.message


async def test_media_timeout_answers_504_and_cancels_the_job(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, timeout={"media_timeout": 0.3}) as gw:
        gw.worker.scripts[media_jobs.KIND_IMAGE] = hang
        with pytest.raises(openai.InternalServerError) as caught:
            await gw.client().images.generate(prompt="x")
        assert caught.value.status_code == 504
        assert caught.value.code == "media_timeout"
        record = await gw.wait_status(gw.worker.last().id, "cancelled")
        assert "media_timeout" in record.error["message"]


async def test_api_key_is_required_when_set(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, app={"api_key": "sk-right"}) as gw:
        with pytest.raises(openai.AuthenticationError):
            await gw.client(api_key="sk-wrong").images.generate(prompt="x")
        answer = await gw.client(api_key="sk-right").images.generate(prompt="x")
        assert answer.data is not None


# -- edits ----------------------------------------------------------------------------------


async def test_edit_stores_the_image_and_submits_an_edit_job(gw: MediaGateway) -> None:
    source = png(color="yellow")
    answer = await gw.client().images.edit(
        image=("in.png", source, "image/png"), prompt="make it blue", response_format="b64_json"
    )
    assert answer.data is not None
    assert base64.b64decode(answer.data[0].b64_json or "") == gw.worker.made[0]
    job = gw.worker.last()
    assert job.kind == media_jobs.KIND_IMAGE_EDIT
    assert job.payload["model"] == "grok-imagine-1.0-edit"
    edit = media_jobs.ImageEditJob.model_validate(job.payload)
    assert [image.kind for image in edit.images] == ["upload"]
    assert await gw.blobs.read_bytes(edit.images[0]) == source
    assert edit.aspect_ratio is None


async def test_edit_takes_several_images_as_image_brackets(gw: MediaGateway) -> None:
    sources = [png(color="red"), jpeg(color="green"), png(color="blue")]
    await gw.client().images.edit(
        image=[(f"{i}.img", data, "application/octet-stream") for i, data in enumerate(sources)],
        prompt="merge them", n=2, size="1024x576",
    )
    edit = media_jobs.ImageEditJob.model_validate(gw.worker.last().payload)
    assert [await gw.blobs.read_bytes(image) for image in edit.images] == sources
    assert [image.content_type for image in edit.images] == ["image/png", "image/jpeg",
                                                              "image/png"]
    assert edit.n == 2 and edit.aspect_ratio == "16:9"


async def test_edit_stream_uses_image_edit_events(gw: MediaGateway) -> None:
    stream = await gw.client().images.edit(image=("a.png", png(), "image/png"), prompt="x",
                                           stream=True)  # fmt: skip
    events = [event async for event in stream]
    assert [event.type for event in events] == ["image_edit.completed"]


@pytest.mark.parametrize(
    ("images", "extra", "param", "says"),
    [
        ([png()] * 6, {}, "image[]", "at most 5"),
        ([b"GIF89a" + bytes(100)], {}, "image", "not a PNG, JPEG or WebP"),
        ([b"\x89PNG\r\n\x1a\n" + bytes(5000)], {}, "image", "over the limit of 4096 bytes"),
        ([png()], {"mask": ("m.png", png(), "image/png")}, "mask", "not supported"),
    ],
)
async def test_edit_refusals_name_the_param(
    tmp_path: Path, images: list[bytes], extra: dict[str, Any], param: str, says: str
) -> None:
    async with media_gateway(tmp_path, chat={"attachment_max_bytes": 4096}) as gw:
        image: Any = ([("x.png", data, "image/png") for data in images] if len(images) > 1
                      else ("x.png", images[0], "image/png"))  # fmt: skip
        with pytest.raises(openai.BadRequestError) as caught:
            await gw.client().images.edit(image=image, prompt="x", **extra)
        assert caught.value.body["param"] == param  # type: ignore[index]
        assert says in caught.value.message
        assert gw.worker.jobs == []


async def test_edit_without_an_image_or_with_json_is_a_400(gw: MediaGateway) -> None:
    async with httpx2.AsyncClient() as http:
        no_image = await http.post(gw.base_url + "/v1/images/edits", data={"prompt": "x"},
                                   files={"other": ("a.txt", b"hi", "text/plain")})  # fmt: skip
        as_json = await http.post(gw.base_url + "/v1/images/edits", json={"prompt": "x"})
    assert no_image.status_code == 400 and no_image.json()["error"]["param"] == "image"
    assert as_json.status_code == 400
    assert as_json.json()["error"]["code"] == "unsupported_media_type"


async def test_an_edit_body_over_the_limit_is_413(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, server={"max_body_bytes": 2048}) as gw:
        with pytest.raises(openai.APIStatusError) as caught:
            await gw.client().images.edit(image=("a.png", bytes(4096), "image/png"), prompt="x")
        assert caught.value.status_code == 413
        assert caught.value.code == "request_too_large"


async def test_without_a_job_queue_media_endpoints_answer_503(tmp_path: Path) -> None:
    from gateway.app import create_app
    from gateway_fakes import FakeGrok, FakePool, make_settings, serve
    from grok2api_media.blobs import BlobStore

    blobs = BlobStore(tmp_path / "media", limit_bytes=None)
    app = create_app(settings=make_settings(), pool=FakePool(), grok=FakeGrok(), blobs=blobs)
    async with serve(app) as base_url, httpx2.AsyncClient() as http:
        for path, body in [
            ("/v1/images/generations", {"prompt": "x"}),
            ("/v1/videos", {"prompt": "x"}),
            ("/v1/chat/completions", {"model": "grok-imagine-1.0-video",
                                      "messages": [{"role": "user", "content": "x"}]}),
        ]:
            response = await http.post(base_url + path, json=body)
            assert response.status_code == 503, path
            assert response.json()["error"]["code"] == "media_unavailable"
            assert "no job queue" in response.json()["error"]["message"]
