"""Image edit jobs (``image.edit``, protocol §12): the reference images are uploaded with the
leased account, then edit turns (two images each) run until ``n`` finals. How a turn reaches
the upstream (one media-post request, or one ``mediaGenInput`` request per image) is
grok_web's business (``network.media_protocol``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grok2api_jobs import Job
from grok2api_media.jobs import ImageEditJob, ImageResult, MediaFile
from grok2api_poolclient import leases
from grok2api_poolclient.egress import grok_egress
from grok_web import errors as grok_errors
from grok_web import events as ev
from grok_web import media

from . import downloads, failures, leased
from .context import MediaContext
from .meter import Meter, Publish

IMAGES_PER_TURN = 2  # the media-post flow's imageGenerationCount cap for edits (§12)


class EditHandler:
    def __init__(self, ctx: MediaContext) -> None:
        self._ctx = ctx

    async def __call__(self, job: Job, *, progress: Publish) -> Mapping[str, Any]:
        request = ImageEditJob.model_validate(job.payload)
        meter = Meter(progress, attempt=job.attempt)
        async with failures.as_job_errors(self._ctx, kind="image edit"):
            references = [await self._ctx.blobs.read_bytes(f) for f in request.images]

            async def attempt(lease: leases.Lease) -> list[MediaFile]:
                return await self._edit(lease, request, references, meter)

            files = await leased.run(
                self._ctx, model=request.model, attempt=attempt, request_id=job.id,
                account_tags=request.account_tags,
            )  # fmt: skip
        return ImageResult(images=tuple(files)).model_dump()

    async def _edit(
        self, lease: leases.Lease, request: ImageEditJob, references: list[bytes], meter: Meter
    ) -> list[MediaFile]:
        grok, egress = self._ctx.grok, grok_egress(lease)
        uploaded = []
        for index, (file, data) in enumerate(zip(request.images, references, strict=True)):
            uploaded.append(await grok.upload_file(
                credential=lease.credential,
                file_name=f"image-{index}.{file.id.rsplit('.', 1)[-1]}",
                mime_type=file.content_type,
                content=data,
                purpose="imagine",
                egress=egress,
            ))  # fmt: skip
        await meter.report(5, "generating")
        finals: dict[str, ev.ImageFinal] = {}
        moderated = 0
        for _ in range(math.ceil(request.n / IMAGES_PER_TURN)):
            turn = media.ImageEditRequest(
                prompt=request.prompt,
                images=tuple(uploaded),
                image_count=min(IMAGES_PER_TURN, request.n - len(finals)),
                aspect_ratio=request.aspect_ratio or "",
            )
            edit = grok.edit_image(credential=lease.credential, request=turn, egress=egress)
            async for event in edit:
                if isinstance(event, ev.ImageFinal) and (event.url or event.data):
                    finals.setdefault(event.url or event.image_id, event)
                elif isinstance(event, ev.ImageProgress):
                    moderated += event.moderated
                    await meter.report(5 + event.progress * 0.85, "generating")
            if len(finals) >= request.n:
                break
        if not finals:
            if moderated:
                raise grok_errors.ContentBlocked("the image edit was moderated")
            raise grok_errors.EmptyStream("the image edit produced no image")
        await meter.report(90, "downloading")
        stored = []
        for final in list(finals.values())[: request.n]:
            if final.data:
                stored.append(await downloads.store_inline(self._ctx, final.data))
            else:
                stored.append(await downloads.store_download(
                    self._ctx, credential=lease.credential, url=final.url, kind="image",
                    egress=egress,
                ))  # fmt: skip
        return stored
