"""Following one synchronous media job from the request that submitted it.

``follow`` yields the job's progress events and then its result event, and ends there. The
request owns the job: whenever it stops following before the terminal event (the client
disconnected, so the response cancelled or closed the generator; an error; the
``timeout.media_timeout`` cap) the job is cancelled in the queue, so the worker stops and
releases its account. An error event becomes ``JobFailed``, an OpenAI error with the status
the worker chose.

``/v1/videos`` jobs are not followed: they run on without any request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import pydantic
from grok2api_jobs import EventType, JobEvent, JobQueue, JobTimeoutError

from .. import errors

log = logging.getLogger(__name__)

CANCEL_TIMEOUT = 5.0
"""How long cancelling an abandoned job may take before it is left to expire."""

_M = TypeVar("_M", bound=pydantic.BaseModel)
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")


class JobFailed(errors.ApiError):
    """A job's error event, as the client sees it."""

    def __init__(self, data: Mapping[str, Any]):
        code = str(data.get("code") or "media_failed")
        message = str(data.get("message") or "The media job failed.")
        super().__init__(message, code=code if _CODE.match(code) else "media_failed")
        self.status = failure_status(data)
        if self.status == 429:
            self.type = "rate_limit_error"
        elif self.status < 500:
            self.type = "invalid_request_error"
        else:
            self.type = "api_error"
        retry_after = data.get("retry_after")
        if isinstance(retry_after, (int, float)) and retry_after > 0:
            self.message += f" Retry in about {round(retry_after)} s."


def failure_status(data: Mapping[str, Any]) -> int:
    """The HTTP status of an error event: its ``status``; 409 for a job cancelled by someone
    other than this request (499, "client closed", is never sent); else 502."""
    status = data.get("status")
    if isinstance(status, int) and 400 <= status <= 599 and status != 499:
        return status
    return 409 if data.get("code") == "cancelled" else 502


class MediaTimeout(errors.ApiError):
    status = 504
    type = "api_error"
    code = "media_timeout"


async def follow(
    queue: JobQueue, job_id: str, *, timeout: float  # noqa: ASYNC109
) -> AsyncGenerator[JobEvent, None]:
    """The job's progress events, then its result event; see the module docstring."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    finished = False
    reason: str | None = None  # why the job is cancelled, when it is
    events = queue.events(job_id)
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(events)
            except TimeoutError:
                reason = f"no result within timeout.media_timeout ({timeout:g} s)"
                raise MediaTimeout(
                    f"The media job did not finish within {timeout:g} s "
                    "(timeout.media_timeout); it was cancelled."
                ) from None
            except StopAsyncIteration:  # the queue forgot the job (expired): not ours to end
                finished = True
                raise errors.ApiError("The media job's events ended early.") from None
            if event.type is EventType.ERROR:
                finished = True
                raise JobFailed(event.data)
            finished = event.terminal
            yield event
            if finished:
                return
    finally:
        await events.aclose()
        if not finished:
            await cancel(queue, job_id, message=reason or "the request waiting for it ended")


async def cancel(queue: JobQueue, job_id: str, *, message: str | None = None) -> None:
    """Cancel the job; a failure is logged, never raised (the client is gone or answered)."""
    try:
        async with asyncio.timeout(CANCEL_TIMEOUT):
            if message is None:
                cancelled = await queue.cancel(job_id)
            else:
                cancelled = await queue.cancel(job_id, message=message)
    except Exception as exc:
        log.warning("media_cancel_failed job=%s error=%s", job_id, type(exc).__name__)
        return
    log.info("media_job_cancelled job=%s ended_it=%s", job_id, cancelled)


async def result_of(queue: JobQueue, job_id: str, *, timeout: float) -> Mapping[str, Any]:  # noqa: ASYNC109
    """The data of the job's result event; ``follow``'s rules apply. Progress is not
    read: the queue's ``wait`` wakes this request for the terminal event alone."""
    finished = False
    reason: str | None = None
    try:
        try:
            event = await queue.wait(job_id, timeout=timeout)
        except JobTimeoutError:
            reason = f"no result within timeout.media_timeout ({timeout:g} s)"
            raise MediaTimeout(
                f"The media job did not finish within {timeout:g} s "
                "(timeout.media_timeout); it was cancelled."
            ) from None
        finished = True
        if event.type is EventType.ERROR:
            raise JobFailed(event.data)
        return event.data
    finally:
        if not finished:
            await cancel(queue, job_id, message=reason or "the request waiting for it ended")


class MalformedResult(errors.ApiError):
    status = 502
    type = "api_error"
    code = "media_malformed_result"


def parsed(model: type[_M], data: Mapping[str, Any]) -> _M:
    """A result event's data as ``model``; a worker answering another shape is a 502."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        log.error("media_result_malformed model=%s errors=%d", model.__name__, exc.error_count())
        raise MalformedResult(
            "The media worker answered a result this gateway cannot read."
        ) from None
