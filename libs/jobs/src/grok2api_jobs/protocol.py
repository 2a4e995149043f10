"""The ``JobQueue`` contract shared by the in-process and the Redis Streams backends.

Delivery is at-least-once: a claimed job stays pending until acknowledged, and a job whose
worker stopped heartbeating for ``min_idle_ms`` can be reclaimed by another worker. What the
client sees is exactly-once: ``publish_event`` writes at most one terminal event per job, and
drops every event that arrives after it.

Every job also has a record (``records.JobRecord``: status, progress, timestamps, result or
error) that changes atomically with each event, and can be listed by kind, cancelled and
deleted. A job's record, events and finished marker expire together, ``ttl`` seconds (the
backend's ``events_ttl``) after the job's last change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal, Protocol

from .envelope import Delivery
from .events import JobEvent
from .records import CANCEL_MESSAGE, JobRecord

Order = Literal["asc", "desc"]


@dataclasses.dataclass(frozen=True)
class QueueDepth:
    """``waiting``: submitted, never claimed. ``in_flight``: claimed, not yet acknowledged."""

    waiting: int
    in_flight: int


class JobQueue(Protocol):
    async def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        owner: str = "",
    ) -> str:
        """Enqueue a job, write its record (``queued``) and return its id (32 hex characters).

        ``metadata`` (JSON-compatible, ``TypeError`` otherwise) and ``owner`` ("" = none)
        are kept on the record for the producer: what to show, and who may see it."""
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
        """Append ``event`` to the job's event stream and update its record in the same step
        (``records.change_for``); both, and the finished marker, get a fresh ttl.

        Returns False, writing nothing, when the job already has a terminal event: of two
        workers racing to finish a job, exactly one gets True."""
        ...

    async def finished(self, job_id: str) -> bool:
        """Whether the job's terminal event has been written (and has not expired)."""
        ...

    async def finished_among(self, job_ids: Sequence[str]) -> set[str]:
        """Those of ``job_ids`` that ``finished`` would answer True for, in one round trip."""
        ...

    async def record(self, job_id: str) -> JobRecord | None:
        """The job's record; None when the job is unknown, deleted or expired."""
        ...

    async def records(
        self,
        kind: str,
        *,
        owner: str | None = None,
        limit: int = 20,
        after: str | None = None,
        order: Order = "desc",
    ) -> list[JobRecord]:
        """Up to ``limit`` (>= 1) records of jobs of ``kind``, by creation time (``order``),
        only ``owner``'s unless it is None.

        ``after``: the id of the last record of the previous page; the page starts after it.
        An ``after`` that names no listed job (unknown, expired, deleted, of another kind
        or, when ``owner`` is given, of another owner) gives ``[]``; a malformed one raises
        ``InvalidJobIdError``."""
        ...

    async def cancel(self, job_id: str, *, message: str = CANCEL_MESSAGE) -> bool:
        """End the job with the error event ``{"code": "cancelled", "message": message}``.

        True when this call ended the job; False when it had already ended, or is unknown.
        Like any terminal event it wins over whatever a worker publishes later, and a
        worker that claims the job afterwards finds it finished and does not run it."""
        ...

    async def delete(self, job_id: str) -> bool:
        """Cancel the job if it is not finished, then forget its record and its events.

        True when there was something to delete. The finished marker stays until it
        expires, so a worker that claims the job later still does not run it."""
        ...

    async def depth(self) -> QueueDepth: ...

    async def aclose(self) -> None:
        """Release what the queue holds itself (a subscription); its backend stays open."""
        ...
