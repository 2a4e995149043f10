"""A finished job as the in-process queue keeps it: its record and events as JSON bytes.

A finished job changes no more, but its record stays readable for ``cache.job_ttl_seconds``
(a day by default). Kept as objects, each such job is a few dozen objects the garbage
collector walks in every full collection: a busy single-process gateway then held tens of
thousands of them, and its full collections grew to over 100 ms, in which no request is
served. A tuple of a float and two ``bytes`` holds nothing the collector follows (it stops
tracking such a tuple at its next pass), and takes about a sixth of the memory. Readers
decode it again, as the Redis backend's readers decode what Redis holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from .events import EventType, JobEvent
from .frozen import built
from .records import JobRecord, JobStatus

Finished = tuple[float, bytes | None, bytes]
"""When the job last changed (the queue's clock), its record and its events, as JSON. A plain
tuple: the collector stops tracking an exact tuple of atoms, not an instance of a subclass
(``NamedTuple`` included)."""


def pack(touched: float, record: JobRecord | None, events: Sequence[JobEvent]) -> Finished:
    return (
        touched,
        None if record is None else _exact(orjson.dumps(record)),
        _exact(orjson.dumps([(event.type.value, event.data, event.at) for event in events])),
    )


def _exact(dumped: bytes) -> bytes:
    """A copy of exactly its length. ``orjson.dumps`` hands back a 4 kB allocation for any
    short document; kept for a day, that was 8 kB of memory a job for 1 kB of JSON."""
    return bytes(memoryview(dumped))


def record_of(finished: Finished) -> JobRecord | None:
    if finished[1] is None:
        return None
    fields = orjson.loads(finished[1])
    fields["status"] = JobStatus(fields["status"])
    return built(JobRecord, **fields)


def events_of(finished: Finished) -> list[JobEvent]:
    return [
        built(JobEvent, type=EventType(kind), data=data, at=at)
        for kind, data, at in orjson.loads(finished[2])
    ]
