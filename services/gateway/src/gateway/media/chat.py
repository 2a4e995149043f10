"""``/v1/chat/completions`` for image, image-edit and video models: one media job per request,
answered as a normal ``chat.completion`` (or ``chat.completion.chunk`` stream).

The job comes from the last user message: its text is the prompt, its ``image_url`` parts
the reference images (data URIs or http(s) URLs, fetched and checked like chat
attachments, stored as uploads). Per kind:

    image       ImageJob, ``n`` images (the request's ``n``, default 1), optional ``size``
    image_edit  ImageEditJob of the message's 1-5 images
    video       VideoJob after ``video_config`` (``params.video_config``), at most one image

The content is ``![image](<url or data URI>)`` per image (``app.image_format``), or the
video per ``app.video_format`` (a ``<video>`` tag or the URL). While streaming, progress
goes out as ``reasoning_content`` deltas ("Generating video: 40%") unless the request turned
thinking off, so the answer's content holds only the result; keep-alive comments fill the
silences.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
import pydantic
from grok2api_jobs import EventType
from grok2api_media import jobs as media_jobs
from grok2api_settings import sections
from grok_web import catalogue
from starlette.responses import Response

from .. import errors, responses
from ..access.caller import Caller
from ..chat import chunks, flatten
from ..chat import request as req
from . import params, relay, render, service, sizes, uploads
from .service import MediaService

ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
_NOUNS = {"image": "image", "image_edit": "image", "video": "video"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Plan:
    kind: str
    model: str
    prompt: str
    n: int
    ratio: str | None
    size: str
    references: tuple[flatten.AttachmentRef, ...]
    video: params.VideoRequest | None
    stream: bool
    include_usage: bool
    show_progress: bool
    completion_id: str
    created: int


def handles(model: str) -> bool:
    """Whether ``model`` is a media model (answered here, not by the chat pipeline)."""
    spec = catalogue.find(model)
    return spec is not None and spec.kind != "chat"


def respond(
    media: MediaService | None,
    body: req.ChatCompletionRequest,
    *,
    chat: sections.ChatSettings,
    caller: Caller,
) -> Response:
    """The response for a validated request of a media model (``handles``), whose job
    ``caller`` owns."""
    media = service.ready(media)
    plan = _plan(body, chat=chat)
    if plan.stream:
        events = _stream(media, plan, caller)
        return responses.EventStream(events, keepalive=chat.keepalive_seconds)
    return responses.DeferredJson(lambda: _complete(media, plan, caller))


def _plan(body: req.ChatCompletionRequest, *, chat: sections.ChatSettings) -> _Plan:
    spec = catalogue.get(body.model)
    index, text, references = _last_user(body.messages)
    if not text.strip():
        raise errors.InvalidRequest(
            "The last user message needs text: it is the prompt of the "
            f"{_NOUNS[spec.kind]}.",
            param="messages" if index < 0 else f"messages.{index}.content",
        )
    extra = body.model_extra or {}
    video = None
    ratio: str | None = None
    size = "auto"
    if spec.kind == "image_edit":
        if not references:
            raise errors.InvalidRequest(
                "An image edit needs 1 to 5 images (image_url parts) in the last user message.",
                param=f"messages.{index}.content",
            )
        if len(references) > params.MAX_EDIT_IMAGES:
            raise errors.InvalidRequest(
                f"Too many images: {len(references)}; at most {params.MAX_EDIT_IMAGES} per edit.",
                param=f"messages.{index}.content",
            )
    if spec.kind in ("image", "image_edit"):
        raw_size = extra.get("size")
        if raw_size is not None and not isinstance(raw_size, str):
            raise errors.InvalidRequest("'size' must be a string", param="size")
        default = sizes.DEFAULT_IMAGE_RATIO if spec.kind == "image" else None
        ratio = sizes.image_ratio(raw_size, default=default)
        size = raw_size or "auto"
        if spec.kind == "image":
            references = []  # generation takes no image; any in the message are ignored
    if spec.kind == "video":
        if len(references) > 1:
            raise errors.InvalidRequest(
                "A video takes at most one reference image (image_url part).",
                param=f"messages.{index}.content",
            )
        video = params.video_config(extra, model_id=spec.id, prompt_=text)
        size = video.size
    stream = body.stream if body.stream is not None else chat.stream
    hidden = body.thinking == "disabled" or body.reasoning_effort == "none"
    return _Plan(
        kind=spec.kind,
        model=spec.id,
        prompt=text,
        n=body.n or 1,
        ratio=ratio,
        size=size,
        references=tuple(references),
        video=video,
        stream=stream,
        include_usage=bool(body.stream_options and body.stream_options.include_usage),
        show_progress=not hidden,
        completion_id="chatcmpl-" + secrets.token_hex(12),
        created=int(time.time()),
    )


def _last_user(
    messages: list[req.Message],
) -> tuple[int, str, list[flatten.AttachmentRef]]:
    """(index, text, images) of the last user message; (-1, "", []) without one."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role != "user":
            continue
        content = message.content
        if content is None:
            return index, "", []
        if isinstance(content, str):
            return index, content, []
        texts: list[str] = []
        images: list[flatten.AttachmentRef] = []
        for part_index, part in enumerate(content):
            if isinstance(part, req.TextPart):
                texts.append(part.text)
            elif isinstance(part, req.ImagePart):
                images.append(flatten.AttachmentRef(
                    kind="image", source=part.image_url.url,
                    param=f"messages.{index}.content.{part_index}",
                ))  # fmt: skip
        return index, "\n".join(texts), images
    return -1, "", []


async def _run(
    media: MediaService, plan: _Plan, caller: Caller
) -> AsyncGenerator[int | str, None]:
    """The job's progress percentages, then the answer's content (a ``str``, last)."""
    queue, blobs = media.require()
    settings = media.settings.current
    references = await uploads.store_refs(media, plan.references) if plan.references else ()
    kind, job, metadata = _job(plan, references)
    job_id = await media.submit_for(caller, kind, job, metadata=metadata)
    async with contextlib.aclosing(
        relay.follow(queue, job_id, timeout=settings.timeout.media_timeout)
    ) as events:
        async for event in events:
            if event.type is not EventType.RESULT:
                progress = event.data.get("progress")
                if isinstance(progress, int) and not isinstance(progress, bool):
                    yield progress
                continue
            if kind == media_jobs.KIND_VIDEO:
                video = relay.parsed(media_jobs.VideoResult, event.data)
                yield render.video_content(
                    video, video_format=settings.app.video_format, app_url=settings.app.app_url
                )
            else:
                images = relay.parsed(media_jobs.ImageResult, event.data)
                yield await render.image_markdown(
                    blobs, images.images[: plan.n], image_format=settings.app.image_format,
                    app_url=settings.app.app_url,
                )  # fmt: skip


def _job(
    plan: _Plan, references: tuple[media_jobs.MediaFile, ...]
) -> tuple[str, pydantic.BaseModel, dict[str, Any]]:
    metadata: dict[str, Any] = {"model": plan.model, "size": plan.size}
    if plan.kind == "image":
        job: pydantic.BaseModel = media_jobs.ImageJob(
            model=plan.model, prompt=plan.prompt, n=plan.n, aspect_ratio=plan.ratio or "2:3"
        )
        return media_jobs.KIND_IMAGE, job, {**metadata, "n": plan.n}
    if plan.kind == "image_edit":
        job = media_jobs.ImageEditJob(
            model=plan.model, prompt=plan.prompt, images=references, n=plan.n,
            aspect_ratio=plan.ratio,
        )  # fmt: skip
        return media_jobs.KIND_IMAGE_EDIT, job, {**metadata, "n": plan.n}
    video = plan.video
    assert video is not None
    job = media_jobs.VideoJob(
        model=plan.model, prompt=plan.prompt, aspect_ratio=video.ratio, seconds=video.seconds,
        resolution=video.resolution,  # type: ignore[arg-type]
        preset=video.preset, image=references[0] if references else None, upscale=video.upscale,
    )  # fmt: skip
    metadata.update(prompt=plan.prompt, seconds=str(video.seconds))
    return media_jobs.KIND_VIDEO, job, metadata


async def _stream(media: MediaService, plan: _Plan, caller: Caller) -> AsyncIterator[bytes]:
    writer = chunks.ChunkWriter(
        completion_id=plan.completion_id, created=plan.created, model=plan.model
    )
    noun = _NOUNS[plan.kind]
    role = [writer.role()]  # sent with the first piece: errors before it are JSON answers
    shown = -1
    async with contextlib.aclosing(_run(media, plan, caller)) as pieces:
        async for piece in pieces:
            if isinstance(piece, int):
                if plan.show_progress and piece != shown:
                    shown = piece
                    delta = writer.delta("reasoning_content", f"Generating {noun}: {piece}%\n")
                    yield b"".join([*role, delta])
                    role = []
                continue
            out = [*role, writer.delta("content", piece), writer.finish("stop")]
            if plan.include_usage:
                out.append(writer.usage(ZERO_USAGE))
            out.append(chunks.DONE)
            yield b"".join(out)


async def _complete(media: MediaService, plan: _Plan, caller: Caller) -> tuple[int, bytes]:
    content = ""
    async with contextlib.aclosing(_run(media, plan, caller)) as pieces:
        async for piece in pieces:
            if isinstance(piece, str):
                content = piece
    body = {
        "id": plan.completion_id,
        "object": "chat.completion",
        "created": plan.created,
        "model": plan.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": ZERO_USAGE,
    }
    return 200, orjson.dumps(body)
