"""The media job queue: producers submit jobs and follow their events, workers claim them.

    queue = InProcessJobQueue()                  # single process
    queue = RedisJobQueue(redis, prefix="grok2api:")   # distributed (Redis Streams)

    job_id = await queue.submit("image", {"prompt": "a cat"}, metadata={...}, owner="key-1")
    async for event in queue.events(job_id): ...      # progress..., then result | error
    final = await queue.wait(job_id, timeout=120)      # the terminal JobEvent
    record = await queue.record(job_id)                # JobRecord: status, progress, result...
    page = await queue.records("image", owner="key-1", limit=20, after=None, order="desc")
    await queue.cancel(job_id); await queue.delete(job_id)

Workers use ``claim`` / ``heartbeat`` / ``ack`` / ``reclaim_stale`` / ``publish_event`` and
``finished_among`` (to stop jobs cancelled elsewhere); see ``protocol.JobQueue`` for the
contract both backends pass.
"""

from typing import TYPE_CHECKING

from .cancellation import raise_if_cancelling
from .envelope import Delivery, Job
from .errors import InvalidJobIdError, JobsError, JobTimeoutError, QueueUnavailableError
from .events import EventType, JobEvent
from .memory import InProcessJobQueue
from .protocol import JobQueue, Order, QueueDepth
from .records import CANCELLED_CODE, JobRecord, JobStatus

if TYPE_CHECKING:
    from .redis_retry import retrying
    from .redis_streams import RedisJobQueue

# redis-py loads only in a process that uses Redis (about 15 MB held for its life).
_REDIS_NAMES = {"RedisJobQueue": ".redis_streams", "retrying": ".redis_retry"}


def __getattr__(name: str) -> object:
    if name in _REDIS_NAMES:
        import importlib

        return getattr(importlib.import_module(_REDIS_NAMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "CANCELLED_CODE",
    "Delivery",
    "EventType",
    "InProcessJobQueue",
    "InvalidJobIdError",
    "Job",
    "JobEvent",
    "JobQueue",
    "JobRecord",
    "JobStatus",
    "JobTimeoutError",
    "JobsError",
    "Order",
    "QueueDepth",
    "QueueUnavailableError",
    "RedisJobQueue",
    "raise_if_cancelling",
    "retrying",
]
