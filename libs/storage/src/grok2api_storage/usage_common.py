"""Usage-record rules shared by both stores: checking, grouping, bucket order."""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from . import errors, records

MAX_ID_LENGTH = 64
_ID = re.compile(r"[\x21-\x7e]{1,64}")
#: Widths of the free-text fields; longer values are clipped (a whole batch is never
#: refused for one over-long model name or request id).
TEXT_WIDTHS = {
    "key_id": 64,
    "model": 128,
    "endpoint": 256,
    "error_code": 64,
    "account_tier": 32,
    "request_id": 128,
}
_TEXT_NAMES = tuple(TEXT_WIDTHS)
_TEXT_LIMITS = tuple(TEXT_WIDTHS.values())
_TEXT_VALUES = operator.attrgetter(*_TEXT_NAMES)
PERIODS = (records.UsageGrouping.HOUR, records.UsageGrouping.DAY)
BATCH = 500
"""Records written per statement (and ids looked up per ``IN``)."""


def checked_batch(entries: Iterable[records.UsageRecord]) -> list[records.UsageRecord]:
    """The records to write: checked, clipped, the first of each id only, sorted by id
    (concurrent writers then lock rows in the same order)."""
    unique: dict[str, records.UsageRecord] = {}
    for entry in entries:
        checked = checked_record(entry)
        unique.setdefault(checked.id, checked)
    return [unique[record_id] for record_id in sorted(unique)]


def checked_record(entry: records.UsageRecord) -> records.UsageRecord:
    if not isinstance(entry.id, str) or not _ID.fullmatch(entry.id):
        raise errors.InvalidRecordError(
            f"a usage record id must be 1 to {MAX_ID_LENGTH} printable ASCII characters"
        )
    stamp = entry.timestamp
    offset = stamp.utcoffset()  # None for a naive datetime
    if offset is None:
        raise errors.InvalidRecordError("a usage record's timestamp must be timezone-aware")
    clipped: dict[str, Any] = {}
    if offset:
        clipped["timestamp"] = stamp.astimezone(UTC)
    for name, width, value in zip(_TEXT_NAMES, _TEXT_LIMITS, _TEXT_VALUES(entry), strict=True):
        if value is not None and len(value) > width:
            clipped[name] = value[:width]
    # ``replace`` rebuilds a frozen dataclass field by field: only when something changed.
    return dataclasses.replace(entry, **clipped) if clipped else entry


def checked_grouping(
    group_by: Sequence[records.UsageGrouping],
) -> tuple[records.UsageGrouping, ...]:
    grouping = tuple(dict.fromkeys(records.UsageGrouping(item) for item in group_by))
    if sum(item in PERIODS for item in grouping) > 1:
        raise errors.InvalidRecordError("group usage by hour or by day, not both")
    return grouping


def period_start(stamp: datetime, grouping: records.UsageGrouping) -> datetime:
    """The UTC start of the hour or day holding ``stamp``."""
    stamp = stamp.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if grouping is records.UsageGrouping.DAY:
        stamp = stamp.replace(hour=0)
    return stamp


def sorted_buckets(buckets: Iterable[records.UsageBucket]) -> tuple[records.UsageBucket, ...]:
    """Ordered by the grouped fields: periods ascending, names by code point, ``None``
    (the master key) first."""

    def order(bucket: records.UsageBucket) -> tuple[Any, ...]:
        return tuple(
            (value is not None, value)
            for value in (bucket.period, bucket.key_id, bucket.model, bucket.endpoint)
        )

    return tuple(sorted(buckets, key=order))


def bucket_fields(
    record: records.UsageRecord, grouping: Sequence[records.UsageGrouping]
) -> tuple[datetime | None, str | None, str | None, str | None]:
    """The (period, key_id, model, endpoint) a record is counted under."""
    period = None
    for item in grouping:
        if item in PERIODS:
            period = period_start(record.timestamp, item)
    return (
        period,
        record.key_id if records.UsageGrouping.KEY in grouping else None,
        record.model if records.UsageGrouping.MODEL in grouping else None,
        record.endpoint if records.UsageGrouping.ENDPOINT in grouping else None,
    )


def aggregate(
    entries: Iterable[records.UsageRecord], grouping: Sequence[records.UsageGrouping]
) -> tuple[records.UsageBucket, ...]:
    """``UsageRepository.summary`` over records already filtered."""
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for entry in entries:
        sums = totals.setdefault(bucket_fields(entry, grouping), [0, 0, 0, 0, 0, 0.0])
        sums[0] += 1
        sums[1] += entry.status >= 400
        sums[2] += entry.prompt_tokens
        sums[3] += entry.completion_tokens
        sums[4] += entry.cost_units
        sums[5] += entry.latency_ms
    if not grouping and not totals:
        return (records.UsageBucket(),)
    return sorted_buckets(
        records.UsageBucket(
            period=period,
            key_id=key_id,
            model=model,
            endpoint=endpoint,
            requests=sums[0],
            errors=sums[1],
            prompt_tokens=sums[2],
            completion_tokens=sums[3],
            cost_units=sums[4],
            latency_ms_total=sums[5],
        )
        for (period, key_id, model, endpoint), sums in totals.items()
    )


def matches(entry: records.UsageRecord, filters: records.UsageFilter) -> bool:
    """Whether ``entry`` passes the equality filters (the time range is the caller's)."""
    return (
        (filters.key_id is None or entry.key_id == filters.key_id)
        and (filters.model is None or entry.model == filters.model)
        and (filters.endpoint is None or entry.endpoint == filters.endpoint)
    )
