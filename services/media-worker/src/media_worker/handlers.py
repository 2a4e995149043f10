"""What a job handler is, and the handlers this worker serves by default.

A handler gets the job and a ``progress`` callback, returns the result data (JSON-compatible)
and may raise ``errors.JobRejected`` to fail the job with a client-facing message. It must
be cancellable: on shutdown an unfinished handler is cancelled and its job is left for
another worker to reclaim (so side effects must tolerate being repeated), and a handler
whose job was cancelled or finished elsewhere is cancelled and its job acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from grok2api_jobs import Job
from grok2api_media import jobs

from .media.context import MediaContext
from .media.edits import EditHandler
from .media.images import ImageHandler
from .media.videos import VideoHandler

Progress = Callable[[Mapping[str, Any]], Awaitable[None]]
"""Publish a progress event; raises ``errors.JobSuperseded`` if the job is already finished."""


class Handler(Protocol):
    async def __call__(self, job: Job, *, progress: Progress) -> Mapping[str, Any]: ...


def media_handlers(ctx: MediaContext) -> Mapping[str, Handler]:
    """The media job kinds this worker serves, by kind. A job of a kind missing from the
    mapping a worker runs with ends with an ``unknown_kind`` error event."""
    return {
        jobs.KIND_IMAGE: ImageHandler(ctx),
        jobs.KIND_IMAGE_EDIT: EditHandler(ctx),
        jobs.KIND_VIDEO: VideoHandler(ctx),
    }
