"""What a job handler is, and the handlers this worker serves by default.

A handler gets the job and a ``progress`` callback, returns the result data (JSON-compatible)
and may raise ``errors.JobRejected`` to fail the job with a client-facing message. It must
be cancellable: on shutdown an unfinished handler is cancelled and its job is left for
another worker to reclaim, so side effects must tolerate being repeated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from grok2api_jobs import Job
from grok2api_settings import Settings

Progress = Callable[[Mapping[str, Any]], Awaitable[None]]
"""Publish a progress event; raises ``errors.JobSuperseded`` if the job is already finished."""


class Handler(Protocol):
    async def __call__(self, job: Job, *, progress: Progress) -> Mapping[str, Any]: ...


def default_handlers(settings: Settings) -> Mapping[str, Handler]:
    """The job kinds a media worker serves, by kind.

    No media kind exists yet: image and video generation register theirs here as they land.
    A job of a kind missing from this mapping ends with an ``unknown_kind`` error event.
    """
    return {}
