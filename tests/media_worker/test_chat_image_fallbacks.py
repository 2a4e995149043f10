"""Chat-based image generation when the turn names its images without image cards
(protocol §11.2's fallbacks): the answer's generated image URLs, or markdown in its text."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from grok2api_jobs import EventType
from grok2api_media import jobs
from grok_sim.testing import SimHandle
from grok_web import events as ev
from grok_web.client import GrokClient
from media_stack import running_media_stack
from media_worker.media.images import images_named_in

IMAGINE = "/ws/imagine/listen"


def test_generated_urls_then_markdown_images_of_generated_assets_are_named() -> None:
    final = ev.Final(
        response_id="r",
        message="Here: ![a fox](users/u/generated/b/image.jpg) and a preview "
        "![p](users/u/generated/c-part-0/image.jpg), a web picture ![w](https://x.test/w.png) "
        "and again ![same](<users/u/generated/a/image.jpg>)",
        generated_image_urls=("users/u/generated/a/image.jpg",),
    )
    assert images_named_in(final) == [
        "users/u/generated/a/image.jpg",
        "users/u/generated/b/image.jpg",
    ]


@pytest.mark.parametrize("protocol", ["mgw", "rest"])
async def test_images_named_only_in_the_answer_text_are_stored(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    chat = GrokClient.chat

    async def cards_as_markdown(self: GrokClient, **kwargs: Any) -> AsyncIterator[Any]:
        """The same turn as an upstream that sends no image cards, only markdown."""
        urls: list[str] = []
        async for event in chat(self, **kwargs):
            if isinstance(event, ev.ImageFinal):
                urls.append(event.url)
            elif isinstance(event, ev.Final):
                text = " ".join(f"![image]({url})" for url in urls)
                yield dataclasses.replace(event, message=text, generated_image_urls=())
            elif not isinstance(event, ev.ImageProgress):
                yield event

    monkeypatch.setattr(GrokClient, "chat", cards_as_markdown)
    async with running_media_stack(
        sim=sim, data_dir=tmp_path, network={"chat_protocol": protocol}, image={"image_ws": False}
    ) as stack:
        await stack.add("img-1", auto=80, fast=80)

        _, final = await stack.run(
            jobs.KIND_IMAGE, {"model": "grok-imagine-1.0", "prompt": "a red fox", "n": 2}
        )

        assert final.type is EventType.RESULT, final.data
        images = jobs.ImageResult.model_validate(final.data).images
        assert len(images) == 2
        for image in images:
            assert (await stack.blobs.read_bytes(image))[:2] == b"\xff\xd8"
    assert not sim.requests(path=IMAGINE)
