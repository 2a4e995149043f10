"""``UsageRecord`` to and from the bytes held in the Redis usage list (orjson)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import orjson
from grok2api_storage.records import UsageRecord, usage_record

_FIELDS = frozenset(field.name for field in dataclasses.fields(UsageRecord))


class MalformedRecordError(ValueError):
    """An entry of the usage list that is not an encoded ``UsageRecord``."""


def encode(record: UsageRecord) -> bytes:
    """JSON object of the record's fields; ``timestamp`` as RFC 3339 with its offset."""
    return orjson.dumps(record)


def decode(raw: bytes | str) -> UsageRecord:
    """The record ``encode`` made. Unknown fields are ignored (a newer gateway may add some);
    ``MalformedRecordError`` for anything else that cannot be read back."""
    try:
        data = orjson.loads(raw)
        data["timestamp"] = datetime.fromisoformat(data["timestamp"])
        if data.keys() <= _FIELDS:  # the usual case: no copy of the fields per record
            return usage_record(**data)
        return usage_record(**{name: value for name, value in data.items() if name in _FIELDS})
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise MalformedRecordError(f"not a usage record: {exc}") from None
