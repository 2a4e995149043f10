"""OpenAI's asynchronous Videos API over the job queue: every answer is read from the job's
record (``JobQueue.record`` / ``records``), so any gateway replica answers for any video.

A video id is ``video_`` + the job id. The Video object's status is the record's, except
that a cancelled job shows as ``failed`` with error code ``cancelled``; ``model``,
``prompt``, ``size`` and ``seconds`` are the metadata written at submit. Jobs of every
origin of kind ``video.generate`` are listed, chat completions of the video model included.
"""

from __future__ import annotations

import re
from typing import Any

from grok2api_jobs.records import JobRecord, JobStatus
from grok2api_media import jobs as media_jobs
from grok2api_media.jobs import MediaFile

from .. import errors
from ..access.caller import Caller
from ..chat import flatten
from . import params, relay, uploads
from .service import MediaService

PREFIX = "video_"
_VIDEO_ID = re.compile(r"^video_([0-9a-f]{32})$")
MAX_PAGE = 100


class VideoNotFound(errors.ApiError):
    status = 404
    type = "invalid_request_error"
    code = "video_not_found"


class ThumbnailNotFound(errors.ApiError):
    status = 404
    type = "invalid_request_error"
    code = "thumbnail_not_found"


class VideoNotReady(errors.ApiError):
    status = 409
    type = "invalid_request_error"
    code = "video_not_ready"


async def create(
    media: MediaService, request: params.VideoRequest, *, caller: Caller
) -> dict[str, Any]:
    """Store the reference image (if any), submit the job (``caller``'s), answer its Video
    object."""
    queue, blobs = media.require()
    image: MediaFile | None = None
    if request.reference is not None:
        (image,) = await uploads.store_parts(blobs, [request.reference])
    elif request.reference_url is not None:
        ref = flatten.AttachmentRef(
            kind="image", source=request.reference_url, param="input_reference"
        )
        (image,) = await uploads.store_refs(media, [ref])
    job = media_jobs.VideoJob(
        model=request.model, prompt=request.prompt, aspect_ratio=request.ratio,
        seconds=request.seconds, resolution=request.resolution,  # type: ignore[arg-type]
        preset=request.preset, image=image, upscale=request.upscale,
    )  # fmt: skip
    job_id = await media.submit_for(
        caller, media_jobs.KIND_VIDEO, job, metadata={
            "model": request.model, "prompt": request.prompt, "size": request.size,
            "seconds": str(request.seconds),
        },
    )  # fmt: skip
    record = await queue.record(job_id)
    if record is None:  # expired at once: a queue with a ttl shorter than a request
        raise VideoNotFound(f"The video '{PREFIX}{job_id}' expired before it could be read.")
    return video_object(record)


def job_id_of(video_id: str, *, param: str | None = None) -> str:
    match = _VIDEO_ID.match(video_id)
    if match is None:
        if param is not None:
            raise errors.InvalidRequest(f"'{param}' is not a video id", param=param)
        raise _not_found(video_id)
    return match.group(1)


async def record_of(media: MediaService, video_id: str, *, caller: Caller) -> JobRecord:
    """The video's job record; a client key sees only the videos it created (another
    key's is "not found", as if it did not exist)."""
    queue, _ = media.require()
    record = await queue.record(job_id_of(video_id))
    if record is None or record.kind != media_jobs.KIND_VIDEO:
        raise _not_found(video_id)
    if caller.key_id is not None and record.owner != caller.key_id:
        raise _not_found(video_id)
    return record


def _not_found(video_id: str) -> VideoNotFound:
    return VideoNotFound(
        f"No video found with id '{video_id[:80]}' (unknown, deleted, or expired after "
        "cache.job_ttl_seconds).",
        param="video_id",
    )


def video_object(record: JobRecord) -> dict[str, Any]:
    meta = record.metadata
    status = record.status
    failed = status in (JobStatus.FAILED, JobStatus.CANCELLED)
    error = None
    if failed:
        data = record.error or {}
        error = {
            "code": str(data.get("code") or "failed"),
            "message": str(data.get("message") or "The video generation failed."),
        }
    return {
        "id": PREFIX + record.id,
        "object": "video",
        "created_at": int(record.created_at),
        "status": "failed" if failed else status.value,
        "progress": 100 if status is JobStatus.COMPLETED else record.progress,
        "model": meta.get("model") or params.VIDEO_MODEL,
        "prompt": meta.get("prompt"),
        "seconds": str(meta.get("seconds") or ""),
        "size": meta.get("size") or "",
        "completed_at": int(record.finished_at) if record.finished_at is not None else None,
        "expires_at": int(record.expires_at) if record.expires_at else None,
        "error": error,
        "remixed_from_video_id": None,
    }


async def listing(
    media: MediaService, *, caller: Caller, after: str | None, limit: int, order: str
) -> dict[str, Any]:
    """One page of the caller's videos (a client key's own; every video for a master key
    or an open API), newest first by default: ``{"object": "list", "data", "first_id",
    "last_id", "has_more"}``."""
    queue, _ = media.require()
    after_job = job_id_of(after, param="after") if after else None
    found = await queue.records(
        media_jobs.KIND_VIDEO, owner=caller.key_id, limit=limit + 1, after=after_job,
        order="asc" if order == "asc" else "desc",
    )  # fmt: skip
    page = [video_object(record) for record in found[:limit]]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(found) > limit,
    }


async def delete(media: MediaService, video_id: str, *, caller: Caller) -> dict[str, Any]:
    """Forget the job (cancelling it if it still runs) and delete its files."""
    queue, blobs = media.require()
    record = await record_of(media, video_id, caller=caller)
    await queue.delete(record.id)
    if record.result is not None:
        try:
            result = media_jobs.VideoResult.model_validate(record.result)
        except ValueError:
            result = None
        if result is not None:
            for file in (result.video, result.thumbnail):
                if file is not None:
                    await blobs.delete(file.kind, file.id)
    return {"id": video_id, "object": "video.deleted", "deleted": True}


async def content_file(
    media: MediaService, video_id: str, *, variant: str, caller: Caller
) -> MediaFile:
    """The file of a completed video: ``video`` (the MP4) or ``thumbnail``."""
    record = await record_of(media, video_id, caller=caller)
    if record.status is not JobStatus.COMPLETED or record.result is None:
        state = "failed" if record.status in (JobStatus.FAILED, JobStatus.CANCELLED) else (
            f"{record.status.value}, {record.progress}%"
        )
        raise VideoNotReady(
            f"The video '{video_id}' has no content: it is not completed ({state})."
        )
    result = relay.parsed(media_jobs.VideoResult, record.result)
    if variant == "thumbnail":
        if result.thumbnail is None:
            raise ThumbnailNotFound(f"The video '{video_id}' has no thumbnail.", param="variant")
        return result.thumbnail
    return result.video
