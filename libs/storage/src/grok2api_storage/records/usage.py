"""Usage records, one per client request, and the queries over them: filter, grouping,
bucket."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageRecord:
    """One client request, as the gateway saw it. Never the credential or the prompt.

    ``id`` is unique per request and makes writes idempotent: a batch written twice (a
    drainer that died between its insert and its acknowledgement) stores each record once.
    """

    id: str
    timestamp: datetime
    """When the request arrived."""
    key_id: str | None
    """The client key's id; ``None`` for the master key (``app.api_key``) or an open API."""
    model: str
    endpoint: str
    """The route, e.g. ``/v1/chat/completions``."""
    status: int
    """The HTTP status answered (a stream that failed after its head: the error's status)."""
    error_code: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_units: int = 0
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    """Time to the first streamed token; ``None`` when nothing was streamed."""
    account_tier: str | None = None
    request_id: str = ""


_USAGE_FIELDS = frozenset(field.name for field in dataclasses.fields(UsageRecord))
_new_object = object.__new__


def usage_record(**fields: Any) -> UsageRecord:
    """``UsageRecord(**fields)``, cheaper when every field is given (the gateway makes one per
    request, the drainer one per record it reads back): the values go into the instance's
    ``__dict__`` at once instead of through the frozen class's ``object.__setattr__`` per
    field, which cost about 20 k instructions a record. Anything else (a field missing, one
    unknown) goes through the class itself: its defaults, its ``TypeError``."""
    if fields.keys() != _USAGE_FIELDS:
        return UsageRecord(**fields)
    record = _new_object(UsageRecord)
    record.__dict__.update(fields)
    return record


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageFilter:
    """Which records a query covers: ``since <= timestamp < until`` and the equalities set."""

    since: datetime | None = None
    until: datetime | None = None
    key_id: str | None = None
    model: str | None = None
    endpoint: str | None = None


class UsageGrouping(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"
    KEY = "key"
    MODEL = "model"
    ENDPOINT = "endpoint"


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsageBucket:
    """The records of one group. Only the grouped-by fields are set: ``period`` (UTC start
    of the hour or day) for HOUR/DAY, ``key_id`` for KEY, and so on."""

    period: datetime | None = None
    key_id: str | None = None
    model: str | None = None
    endpoint: str | None = None
    requests: int = 0
    errors: int = 0
    """Records with ``status >= 400``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_units: int = 0
    latency_ms_total: float = 0.0
    """Sum, so buckets can be merged; divide by ``requests`` for the mean."""
