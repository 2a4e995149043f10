"""Image, image-edit and video models through ``/v1/chat/completions``: one media job per
request, answered as a normal chat completion (stream or not)."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from grok2api_media import jobs as media_jobs
from media_fakes import VIDEO_BYTES, MediaGateway, media_gateway, png
from media_fakes import jpeg as jpeg_bytes


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[MediaGateway]:
    async with media_gateway(tmp_path) as running:
        yield running


def user(*parts: Any) -> list[Any]:
    return [{"role": "user", "content": list(parts) if len(parts) > 1 or not isinstance(
        parts[0], str) else parts[0]}]  # fmt: skip


def image_part(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return {"type": "image_url", "image_url": {"url": uri}}


async def fetch(url: str) -> bytes:
    async with httpx2.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        return response.content


async def test_image_model_answers_markdown_image_links(gw: MediaGateway) -> None:
    answer = await gw.client().chat.completions.create(
        model="grok-imagine-1.0",
        messages=[{"role": "system", "content": "be nice"}, *user("a red square")],
        n=2,
    )
    content = answer.choices[0].message.content or ""
    urls = re.findall(r"!\[image\]\(([^)]+)\)", content)
    assert len(urls) == 2 and content.count("\n") == 1
    assert [await fetch(url) for url in urls] == gw.worker.made[-2:]
    assert answer.object == "chat.completion" and answer.choices[0].finish_reason == "stop"
    job = gw.worker.last()
    assert job.kind == media_jobs.KIND_IMAGE
    assert job.payload["prompt"] == "a red square" and job.payload["n"] == 2


async def test_image_format_base64_inlines_data_uris(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, app={"image_format": "base64"}) as gw:
        answer = await gw.client().chat.completions.create(
            model="grok-imagine-1.0", messages=user("x")
        )
        content = answer.choices[0].message.content or ""
        match = re.fullmatch(r"!\[image\]\(data:image/png;base64,([^)]+)\)", content)
        assert match is not None
        assert base64.b64decode(match.group(1)) == gw.worker.made[0]


async def test_image_model_streams_chunks(gw: MediaGateway) -> None:
    stream = await gw.client().chat.completions.create(
        model="grok-imagine-1.0", messages=user("x"), stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    content, reasoning, finish, usage = "", "", None, None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            content += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
            finish = choice.finish_reason or finish
    assert content.startswith("![image](" + gw.base_url + "/v1/files/image/")
    assert "Generating image: 90%" in reasoning
    assert finish == "stop" and usage is not None


async def test_edit_model_edits_the_last_user_messages_images(gw: MediaGateway) -> None:
    first, second = png(color="white"), jpeg_bytes(color="black")
    answer = await gw.client().chat.completions.create(
        model="grok-imagine-1.0-edit",
        messages=user({"type": "text", "text": "swap colours"}, image_part(first),
                      image_part(second, "image/jpeg")),
    )
    assert (answer.choices[0].message.content or "").startswith("![image](")
    edit = media_jobs.ImageEditJob.model_validate(gw.worker.last().payload)
    assert edit.prompt == "swap colours"
    assert [await gw.blobs.read_bytes(image) for image in edit.images] == [first, second]


async def test_edit_model_without_images_is_a_400(gw: MediaGateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().chat.completions.create(
            model="grok-imagine-1.0-edit", messages=user("swap colours")
        )
    assert caught.value.body["param"] == "messages.0.content"  # type: ignore[index]


async def test_edit_model_refuses_a_non_image(gw: MediaGateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().chat.completions.create(
            model="grok-imagine-1.0-edit",
            messages=user({"type": "text", "text": "x"}, image_part(b"GIF89a-not-ok", "image/gif")),
        )
    assert caught.value.body["param"] == "messages.0.content.1.image_url.url"  # type: ignore[index]
    assert gw.worker.jobs == []


async def test_video_stream_shows_progress_as_reasoning(gw: MediaGateway) -> None:
    reference = png(color="purple")
    stream = await gw.client().chat.completions.create(
        model="grok-imagine-1.0-video",
        messages=user({"type": "text", "text": "a cat walks"}, image_part(reference)),
        stream=True,
        extra_body={"video_config": {"aspect_ratio": "16:9", "video_length": 10,
                                     "resolution_name": "720p", "preset": "fun",
                                     "upscale": True}},
    )
    content, reasoning = "", ""
    async for chunk in stream:
        for choice in chunk.choices:
            content += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
    assert "Generating video: 40%" in reasoning and "Generating video: 80%" in reasoning
    assert "%" not in content
    match = re.fullmatch(
        r'<video src="([^"]+)" poster="([^"]+)" controls="controls"></video>', content
    )
    assert match is not None
    assert await fetch(match.group(1)) == VIDEO_BYTES
    assert match.group(2).startswith(gw.base_url + "/v1/files/image/")
    job = media_jobs.VideoJob.model_validate(gw.worker.last().payload)
    assert (job.aspect_ratio, job.seconds, job.resolution, job.preset, job.upscale) == (
        "16:9", 10, "720p", "fun", True
    )
    assert job.image is not None and await gw.blobs.read_bytes(job.image) == reference


async def test_video_format_url_answers_the_plain_url(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, app={"video_format": "url"}) as gw:
        answer = await gw.client().chat.completions.create(
            model="grok-imagine-1.0-video", messages=user("a dog runs")
        )
        content = answer.choices[0].message.content or ""
        assert content.startswith(gw.base_url + "/v1/files/video/")
        assert await fetch(content) == VIDEO_BYTES
        job = media_jobs.VideoJob.model_validate(gw.worker.last().payload)
        assert (job.aspect_ratio, job.seconds, job.resolution) == ("3:2", 6, "480p")


async def test_thinking_disabled_hides_the_progress(gw: MediaGateway) -> None:
    stream = await gw.client().chat.completions.create(
        model="grok-imagine-1.0-video", messages=user("x"), stream=True,
        extra_body={"thinking": "disabled"},
    )  # fmt: skip
    reasoning = ""
    async for chunk in stream:
        for choice in chunk.choices:
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
    assert reasoning == ""


@pytest.mark.parametrize(
    ("config", "param"),
    [
        ({"aspect_ratio": "4:3"}, "video_config.aspect_ratio"),
        ({"video_length": 8}, "video_config.video_length"),
        ({"resolution_name": "1080p"}, "video_config.resolution_name"),
        ({"preset": "wild"}, "video_config.preset"),
        ("16:9", "video_config"),
    ],
)
async def test_video_config_refusals_name_the_field(
    gw: MediaGateway, config: Any, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().chat.completions.create(
            model="grok-imagine-1.0-video", messages=user("x"),
            extra_body={"video_config": config},
        )  # fmt: skip
    assert caught.value.body["param"] == param  # type: ignore[index]
    assert gw.worker.jobs == []


async def test_a_video_takes_one_reference_image_at_most(gw: MediaGateway) -> None:
    with pytest.raises(openai.BadRequestError):
        await gw.client().chat.completions.create(
            model="grok-imagine-1.0-video",
            messages=user({"type": "text", "text": "x"}, image_part(png()), image_part(png())),
        )


async def test_a_prompt_is_required(gw: MediaGateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().chat.completions.create(
            model="grok-imagine-1.0", messages=[{"role": "assistant", "content": "hi"}]
        )
    assert caught.value.body["param"] == "messages"  # type: ignore[index]


async def test_chat_models_still_refuse_n_above_1(gw: MediaGateway) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await gw.client().chat.completions.create(model="grok-4", messages=user("x"), n=2)
    assert caught.value.body["param"] == "n"  # type: ignore[index]
