"""``/v1/images/generations`` and ``/v1/images/edits`` once validated: submit, follow, answer.

Both run inside the response's watched work (``responses.DeferredJson`` / ``EventStream``),
so a client that disconnects cancels the wait, and ``relay.follow`` then cancels the job.
Edits store their reference images first (blob store uploads) and never stream partials
(the upstream edits without previews); generations ask for partials only when streaming.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import pydantic
from grok2api_jobs import EventType
from grok2api_media import jobs as media_jobs

from ..access.caller import Caller
from . import params, relay, render, uploads
from .service import MediaService


async def respond_json(
    media: MediaService, request: params.ImageRequest, *, caller: Caller
) -> tuple[int, bytes]:
    """``{"created", "data": [{"url"} | {"b64_json"}, ...], "usage"}``."""
    queue, blobs = media.require()
    settings = media.settings.current
    job_id = await _submit(media, request, caller)
    data = await relay.result_of(queue, job_id, timeout=settings.timeout.media_timeout)
    result = relay.parsed(media_jobs.ImageResult, data)
    items = await render.image_items(
        blobs, result.images[: request.n], response_format=request.response_format,
        app_url=settings.app.app_url,
    )  # fmt: skip
    return 200, render.images_body(created=int(time.time()), items=items)


async def stream(
    media: MediaService, request: params.ImageRequest, *, caller: Caller
) -> AsyncIterator[bytes]:
    """OpenAI's image stream events: partial images as they come, then one completed event
    per image; progress as SSE comments."""
    queue, blobs = media.require()
    settings = media.settings.current
    prefix = "image_edit" if request.images else "image_generation"
    job_id = await _submit(media, request, caller)
    partials: dict[int, int] = {}
    shown = -1
    async with contextlib.aclosing(
        relay.follow(queue, job_id, timeout=settings.timeout.media_timeout)
    ) as events:
        async for event in events:
            if event.type is EventType.RESULT:
                result = relay.parsed(media_jobs.ImageResult, event.data)
                for index, file in enumerate(result.images[: request.n]):
                    extra: dict[str, object] = {"usage": render.IMAGE_USAGE,
                                                "image_index": index}  # fmt: skip
                    if request.response_format == "url":
                        extra["url"] = render.url(settings.app.app_url, file)
                    yield render.stream_image(
                        f"{prefix}.completed", data_b64=await render.b64(blobs, file),
                        file=file, requested_size=request.size, created=int(time.time()),
                        extra=extra,
                    )  # fmt: skip
                continue
            progress = _progress(event.data)
            if progress is None:
                continue
            if progress.partial is not None:
                image = progress.index or 0
                partials[image] = partials.get(image, 0) + 1
                yield render.stream_image(
                    f"{prefix}.partial_image",
                    data_b64=await render.b64(blobs, progress.partial),
                    file=progress.partial, requested_size=request.size,
                    created=int(time.time()),
                    extra={"partial_image_index": partials[image] - 1, "image_index": image},
                )  # fmt: skip
            elif progress.progress != shown:
                shown = progress.progress
                yield render.progress_comment(shown)


async def _submit(media: MediaService, request: params.ImageRequest, caller: Caller) -> str:
    metadata = {"model": request.model, "size": request.size, "n": request.n}
    if not request.images:
        job = media_jobs.ImageJob(
            model=request.model, prompt=request.prompt, n=request.n,
            aspect_ratio=request.ratio or "2:3", partials=request.stream,
        )  # fmt: skip
        return await media.submit_for(caller, media_jobs.KIND_IMAGE, job, metadata=metadata)
    _, blobs = media.require()
    references = await uploads.store_parts(blobs, request.images)
    edit = media_jobs.ImageEditJob(
        model=request.model, prompt=request.prompt, images=references, n=request.n,
        aspect_ratio=request.ratio,
    )  # fmt: skip
    return await media.submit_for(caller, media_jobs.KIND_IMAGE_EDIT, edit, metadata=metadata)


def _progress(data: object) -> media_jobs.Progress | None:
    """A progress event's data, or None when it is not one (skipped, never fatal)."""
    try:
        return media_jobs.Progress.model_validate(data)
    except pydantic.ValidationError:
        return None
