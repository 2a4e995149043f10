"""What the media endpoints need from the app (``MediaService``), and their errors.

The gateway never generates media itself: it stores uploads in the blob store, submits a
job to the media job queue and follows the job's events (``relay``). Without a queue or a
blob store (an app built without them) every media endpoint answers 503.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from grok2api_jobs import JobQueue
from grok2api_media.blobs import BlobStore
from grok2api_settings.live import LiveSettings
from grok2api_telemetry import tracing
from pydantic import BaseModel

from .. import errors
from ..access.caller import Caller
from ..chat import attachments


class MediaUnavailable(errors.ApiError):
    status = 503
    type = "api_error"
    code = "media_unavailable"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MediaService:
    settings: LiveSettings
    queue: JobQueue | None
    blobs: BlobStore | None
    fetcher: attachments.Fetcher

    def require(self) -> tuple[JobQueue, BlobStore]:
        """The queue and the blob store; 503 when this gateway has either missing."""
        if self.queue is None or self.blobs is None:
            missing = "job queue" if self.queue is None else "media store"
            raise MediaUnavailable(
                f"Media generation is not available on this gateway (no {missing} configured)."
            )
        return self.queue, self.blobs

    async def submit_for(
        self, caller: Caller, kind: str, payload: BaseModel, *, metadata: Mapping[str, Any]
    ) -> str:
        """``submit`` on behalf of ``caller``: its job, spending only its accounts."""
        return await self.submit(
            kind, payload, metadata=metadata, account_tags=caller.account_tags,
            owner=caller.owner,
        )  # fmt: skip

    async def submit(
        self,
        kind: str,
        payload: BaseModel,
        *,
        metadata: Mapping[str, Any],
        account_tags: Sequence[str] = (),
        owner: str = "",
    ) -> str:
        """Enqueue a media job; its id. ``metadata`` is kept on the job's record, and
        ``owner`` (the client key's id, "" for nobody) decides who may list and read it.

        ``account_tags`` (empty: any account) go into the job's payload as its
        ``account_tags`` field (``grok2api_media.jobs``; they win over the payload's own):
        the worker then leases only accounts carrying at least one of them, for every
        attempt of the job. Without tags the payload has no such field, as before.
        """
        queue, _ = self.require()
        body = payload.model_dump(mode="json")
        tags = list(account_tags) or list(body.pop("account_tags", None) or ())
        body.pop("account_tags", None)
        if tags:
            body["account_tags"] = tags
        if not tracing.enabled():
            return await queue.submit(kind, body, metadata=dict(metadata), owner=owner)
        # The job carries this span's context in its headers: the worker's span continues it.
        with tracing.span(f"send {JOBS_DESTINATION}", kind=tracing.SpanKind.PRODUCER,
                          attributes=job_attributes(kind, operation="send")) as span:
            assert span is not None
            job_id = await queue.submit(kind, body, metadata=dict(metadata), owner=owner,
                                        headers=tracing.inject())
            span.set_attribute("messaging.message.id", job_id)
            return job_id


JOBS_DESTINATION = "media-jobs"


def job_attributes(kind: str, *, operation: str) -> dict[str, str]:
    """The OTel messaging attributes of a media job's spans (the worker's too)."""
    return {
        "messaging.system": "grok2api.jobs",
        "messaging.operation.type": operation,
        "messaging.destination.name": JOBS_DESTINATION,
        "grok2api.job.kind": kind,
    }


def ready(media: MediaService | None) -> MediaService:
    """``media``, checked to have a queue and a blob store; 503 otherwise."""
    if media is None:
        raise MediaUnavailable("Media generation is not available on this gateway.")
    media.require()
    return media
