"""Any failure of a media job as its client-facing error: ``errors.JobRejected`` with the
HTTP status, code and message a gateway answers with (the same words as for chat).

Every job also has a deadline (``timeout.media_timeout``), so a job that keeps failing or
stalls ends as failed with a clear error and never hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pydantic
from grok2api_poolclient import explain
from grok_web import errors as grok_errors

from ..errors import JobRejected, JobTimedOut
from .context import MediaContext

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def as_job_errors(ctx: MediaContext, *, kind: str) -> AsyncIterator[None]:
    deadline = ctx.settings().timeout.media_timeout
    try:
        async with asyncio.timeout(deadline):
            yield
    except JobRejected:
        raise
    except TimeoutError as exc:
        raise JobTimedOut(
            code="media_timeout",
            status=504,
            message=f"the {kind} job did not finish within timeout.media_timeout "
            f"({deadline:g} s); retry, or raise that setting",
        ) from exc
    except pydantic.ValidationError as exc:
        raise JobRejected(
            code="invalid_job", status=400, message=f"invalid {kind} job: {exc.errors()[0]['msg']}"
        ) from exc
    except Exception as exc:
        raise rejection(exc, kind=kind) from exc


def rejection(exc: BaseException, *, kind: str) -> JobRejected:
    explained = explain.explain(exc)
    if explained is not None:
        return JobRejected(
            code=explained.code,
            message=explained.message,
            status=explained.status,
            retry_after=explained.retry_after,
        )
    if isinstance(exc, grok_errors.GrokWebError):
        # Outside the leased attempt (no account involved), e.g. reading a stored upload.
        return JobRejected(
            code="upstream_error", status=502,
            message=f"the {kind} job failed talking to grok.com ({type(exc).__name__}); retry",
        )  # fmt: skip
    log.error("media_job_failed kind=%s", kind, exc_info=exc)
    return JobRejected(
        code="internal_error", status=500,
        message=f"the {kind} job failed inside the media worker ({type(exc).__name__}); "
        "the worker's log has the details",
    )  # fmt: skip
