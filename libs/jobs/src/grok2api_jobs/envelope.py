"""The job envelope: what a producer submits and what a worker is handed.

A job is JSON on the wire (orjson). ``payload`` and ``headers`` must be JSON-compatible; they
are plain dicts that callers must treat as read-only.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from . import errors
from .frozen import built

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of media work.

    ``attempt`` is the 1-based number of times the job has been handed to a worker, this
    delivery included: 1 on the first claim, 2 after one reclaim, and so on. ``headers``
    carries cross-process context such as the W3C ``traceparent``.
    """

    id: str
    kind: str
    payload: Mapping[str, Any]
    created_at: float
    attempt: int = 1
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Delivery:
    """A claimed job plus the backend's handle for acknowledging or extending it."""

    job: Job
    delivery_id: str


def new_job(*, kind: str, payload: Mapping[str, Any], headers: Mapping[str, str]) -> Job:
    """A fresh job with a random id, stamped with the current wall-clock time."""
    if not kind:
        raise ValueError("a job needs a non-empty kind")
    return built(  # one job per media request: see ``frozen``
        Job,
        id=uuid.uuid4().hex,
        kind=kind,
        payload=dict(payload),
        created_at=time.time(),
        attempt=1,
        headers=dict(headers),
    )


def check_job_id(job_id: str) -> str:
    """Return ``job_id`` unchanged, or raise ``InvalidJobIdError`` (ids end up in key names)."""
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
        raise errors.InvalidJobIdError(f"not a job id: {job_id!r:.80}")
    return job_id


def encode(job: Job) -> bytes:
    return orjson.dumps(
        {
            "id": job.id,
            "kind": job.kind,
            "payload": job.payload,
            "created_at": job.created_at,
            "headers": job.headers,
        }
    )


def decode(raw: bytes | str, *, attempt: int) -> Job:
    """Rebuild a job from ``encode`` output; the backend supplies the delivery count."""
    data = orjson.loads(raw)
    return Job(
        id=data["id"],
        kind=data["kind"],
        payload=data["payload"],
        created_at=data["created_at"],
        attempt=attempt,
        headers=data.get("headers") or {},
    )
