"""The media job queue: producers submit jobs and follow their events, workers claim them.

    queue = InProcessJobQueue()                  # single process
    queue = RedisJobQueue(redis, prefix="grok2api:")   # distributed (Redis Streams)

    job_id = await queue.submit("image", {"prompt": "a cat"})
    async for event in queue.events(job_id): ...      # progress..., then result | error
    final = await queue.wait(job_id, timeout=120)      # the terminal JobEvent

Workers use ``claim`` / ``heartbeat`` / ``ack`` / ``reclaim_stale`` / ``publish_event``; see
``protocol.JobQueue`` for the contract both backends pass.
"""

from .cancellation import raise_if_cancelling
from .envelope import Delivery, Job
from .errors import InvalidJobIdError, JobsError, JobTimeoutError, QueueUnavailableError
from .events import EventType, JobEvent
from .memory import InProcessJobQueue
from .protocol import JobQueue, QueueDepth
from .redis_streams import RedisJobQueue

__all__ = [
    "Delivery",
    "EventType",
    "InProcessJobQueue",
    "InvalidJobIdError",
    "Job",
    "JobEvent",
    "JobQueue",
    "JobTimeoutError",
    "JobsError",
    "QueueDepth",
    "QueueUnavailableError",
    "RedisJobQueue",
    "raise_if_cancelling",
]
