"""Video jobs (``video.generate``, protocol §13): one upstream request per video (the
lengths offered, 6/10/15 s, fit one request in both generations; grok_web picks the
generation, ``network.media_protocol``).

720p or longer videos prefer accounts of a tier that makes them (super and up); a basic
account given a 720p request generates 480p and asks for the HD version afterwards, as
the upstream's own clients do (§13.5). ``upscale`` asks for the HD version in any case.
The video and its thumbnail are downloaded with the generating account's cookie.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from grok2api_jobs import Job
from grok2api_media.jobs import MediaFile, VideoJob, VideoResult
from grok2api_poolclient import leases
from grok2api_poolclient.egress import egress_label, grok_egress
from grok_web import errors as grok_errors
from grok_web import events as ev
from grok_web import media

from . import downloads, failures, leased
from .context import MediaContext
from .meter import Meter, Publish

log = logging.getLogger(__name__)

_VIDEO_ID = re.compile(r"/generated/([0-9a-fA-F-]{8,})/|/([0-9a-fA-F-]{8,})/generated_video")


class VideoHandler:
    def __init__(self, ctx: MediaContext) -> None:
        self._ctx = ctx

    async def __call__(self, job: Job, *, progress: Publish) -> Mapping[str, Any]:
        request = VideoJob.model_validate(job.payload)
        meter = Meter(progress, attempt=job.attempt)
        async with failures.as_job_errors(self._ctx, kind="video"):
            reference = (
                await self._ctx.blobs.read_bytes(request.image) if request.image else None
            )

            async def attempt(lease: leases.Lease) -> VideoResult:
                return await self._generate(lease, request, reference, meter)

            demanding = request.resolution == "720p" or request.seconds > 6
            result = await leased.run(
                self._ctx,
                model=request.model,
                attempt=attempt,
                request_id=job.id,
                prefer_tier=leases.Tier.SUPER if demanding else "",
                account_tags=request.account_tags,
            )
        return result.model_dump()

    async def _generate(
        self, lease: leases.Lease, request: VideoJob, reference: bytes | None, meter: Meter
    ) -> VideoResult:
        grok, egress = self._ctx.grok, grok_egress(lease)
        uploaded = None
        if reference is not None and request.image is not None:
            uploaded = await grok.upload_file(
                credential=lease.credential,
                file_name="reference." + request.image.id.rsplit(".", 1)[-1],
                mime_type=request.image.content_type,
                content=reference,
                purpose="imagine",
                egress=egress,
            )
        resolution, upscale = request.resolution, request.upscale
        if resolution == "720p" and lease.tier == leases.Tier.BASIC:
            resolution, upscale = "480p", True
        call = media.VideoRequest(
            prompt=request.prompt,
            aspect_ratio=request.aspect_ratio,
            video_length=request.seconds,
            resolution=resolution,
            preset=request.preset,
            image=uploaded,
        )
        final: ev.VideoFinal | None = None
        video = grok.generate_video(credential=lease.credential, request=call, egress=egress)
        async for event in video:
            if isinstance(event, ev.VideoProgress):
                if event.moderated:
                    raise grok_errors.ContentBlocked("the video was moderated")
                await meter.report(event.progress * 0.85, "generating")
            elif isinstance(event, ev.VideoFinal):
                final = event
        if final is None:
            raise grok_errors.EmptyStream("the video stream ended without a video")
        url = final.url
        if upscale:
            await meter.report(87, "upscaling")
            url = await grok.upscale_video(
                credential=lease.credential, video_id=_video_id(final), egress=egress
            )
            resolution = "720p"
        await meter.report(90, "downloading")
        stored = await downloads.store_download(
            self._ctx, credential=lease.credential, url=url, kind="video", egress=egress
        )
        return VideoResult(
            video=stored,
            thumbnail=await self._thumbnail(lease, final),
            resolution=resolution,
            seconds=request.seconds,
            upscaled=upscale,
        )

    async def _thumbnail(self, lease: leases.Lease, final: ev.VideoFinal) -> MediaFile | None:
        if not final.thumbnail_url:
            return None
        try:
            return await downloads.store_download(
                self._ctx, credential=lease.credential, url=final.thumbnail_url, kind="image",
                egress=grok_egress(lease),
            )  # fmt: skip
        except grok_errors.GrokWebError as exc:  # the video is what was asked for
            log.info(
                "video_thumbnail_skipped egress=%s error=%s",
                egress_label(lease), type(exc).__name__,
            )  # fmt: skip
            return None


def _video_id(final: ev.VideoFinal) -> str:
    """The upstream video id: the event's, else the one in its URL (§13.5)."""
    if final.video_id:
        return final.video_id
    match = _VIDEO_ID.search(final.url)
    if match is None:
        raise grok_errors.MalformedResponse("cannot tell the video id to upscale")
    return match.group(1) or match.group(2)
