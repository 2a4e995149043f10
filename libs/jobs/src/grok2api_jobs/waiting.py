"""``wait`` written once on top of ``events``, so both backends time out the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from . import errors
from .events import JobEvent


async def terminal_event(
    events: AsyncGenerator[JobEvent, None],
    *,
    job_id: str,
    timeout: float,  # noqa: ASYNC109
) -> JobEvent:
    """The first terminal event of ``events``, or ``JobTimeoutError`` after ``timeout`` s."""
    try:
        async with asyncio.timeout(timeout):
            async for event in events:
                if event.terminal:
                    return event
    except TimeoutError as exc:
        raise errors.JobTimeoutError(job_id=job_id, timeout=timeout) from exc
    finally:
        await events.aclose()
    raise errors.JobTimeoutError(job_id=job_id, timeout=timeout)
