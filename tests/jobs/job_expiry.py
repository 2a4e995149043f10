"""``Expiring``: a job queue whose jobs can be made to expire (the ``expiring`` fixture)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from grok2api_jobs import JobQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Expiring:
    """``queue`` with a short ttl; ``await expire(job_id)`` returns once that job (its record,
    events and finished marker) has expired: at once on the in-process backend (its clock
    jumps past the ttl), after polling on Redis (a 1 s ttl, waited for up to 10 s)."""

    queue: JobQueue
    expire: Callable[[str], Awaitable[None]]
