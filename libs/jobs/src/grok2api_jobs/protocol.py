"""The ``JobQueue`` contract shared by the in-process and the Redis Streams backends.

Delivery is at-least-once: a claimed job stays pending until acknowledged, and a job whose
worker stopped heartbeating for ``min_idle_ms`` can be reclaimed by another worker. What the
client sees is exactly-once: ``publish_event`` writes at most one terminal event per job, and
drops every event that arrives after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Protocol

from .envelope import Delivery
from .events import JobEvent


@dataclasses.dataclass(frozen=True)
class QueueDepth:
    """``waiting``: submitted, never claimed. ``in_flight``: claimed, not yet acknowledged."""

    waiting: int
    in_flight: int


class JobQueue(Protocol):
    async def submit(
        self, kind: str, payload: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> str:
        """Enqueue a job and return its id (32 hex characters)."""
        ...

    def events(self, job_id: str) -> AsyncGenerator[JobEvent, None]:
        """Every event of the job from the first one, live, ending after the terminal event.

        For an id that never gets events (unknown, or expired) the iterator waits forever:
        bound it with a timeout, or use ``wait``. Close it (``contextlib.aclosing``) when
        stopping early, so the Redis backend's blocking read is released at once.
        """
        ...

    async def wait(self, job_id: str, *, timeout: float) -> JobEvent:  # noqa: ASYNC109
        """The job's terminal event (result or error); ``JobTimeoutError`` after ``timeout`` s.

        The timeout is a parameter (not the caller's ``asyncio.timeout``) so that the error
        names the job."""
        ...

    async def claim(self, *, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        """Up to ``count`` never-claimed jobs for ``consumer``; waits up to ``block_ms`` for
        the first one (0: do not wait). Returns ``[]`` when none arrived."""
        ...

    async def ack(self, delivery: Delivery) -> None:
        """Forget the delivery: the job is never handed out again. Idempotent."""
        ...

    async def heartbeat(self, *, consumer: str, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Reset the idle time of the deliveries ``consumer`` still owns; return those.

        A delivery missing from the answer was reclaimed by another worker (or acked)."""
        ...

    async def reclaim_stale(self, *, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        """Take over up to ``count`` pending jobs idle for at least ``min_idle_ms``.

        Each returned job's ``attempt`` counts this delivery too."""
        ...

    async def retire(self, *, consumer: str) -> None:
        """Forget a consumer that stops for good, unless it still owns jobs: those stay
        pending for another worker to reclaim, and ``prune_consumers`` forgets it later."""
        ...

    async def prune_consumers(self, *, min_idle_ms: int) -> int:
        """Forget consumers idle for at least ``min_idle_ms`` that own no jobs (workers that
        died without retiring); the number forgotten. A live one forgotten by mistake is
        recreated by its next claim."""
        ...

    async def publish_event(self, job_id: str, event: JobEvent) -> bool:
        """Append ``event`` to the job's event stream.

        Returns False, writing nothing, when the job already has a terminal event: of two
        workers racing to finish a job, exactly one gets True."""
        ...

    async def finished(self, job_id: str) -> bool:
        """Whether the job's terminal event has been written (and has not expired)."""
        ...

    async def depth(self) -> QueueDepth: ...
