"""A ``JobRecord`` as the Redis hash ``<prefix>job:{<id>}:record``, field by field.

Scalars are plain strings (floats in ``repr`` form, so no precision is lost); ``metadata``,
``result`` and ``error`` are JSON. Absent optional fields are absent from the hash. The
publish script (``redis_scripts.PUBLISH_EVENT``) updates the same fields in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .records import JobRecord, JobStatus


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def encode(record: JobRecord) -> dict[str, str | bytes]:
    """The hash fields of a new record. Raises ``TypeError`` for non-JSON metadata."""
    fields: dict[str, str | bytes] = {
        "id": record.id,
        "kind": record.kind,
        "status": record.status.value,
        "progress": str(record.progress),
        "created_at": repr(record.created_at),
        "updated_at": repr(record.updated_at),
        "metadata": orjson.dumps(record.metadata),
        "owner": record.owner,
        "expires_at": repr(record.expires_at),
    }
    for name in ("started_at", "finished_at"):
        value = getattr(record, name)
        if value is not None:
            fields[name] = repr(value)
    for name in ("result", "error"):
        value = getattr(record, name)
        if value is not None:
            fields[name] = orjson.dumps(value)
    return fields


def decode(raw: Mapping[Any, Any]) -> JobRecord | None:
    """The record in an HGETALL answer; None for an empty one (no such key)."""
    if not raw:
        return None
    fields = {_text(name): value for name, value in raw.items()}

    def optional_float(name: str) -> float | None:
        return float(fields[name]) if name in fields else None

    def optional_json(name: str) -> Mapping[str, Any] | None:
        return orjson.loads(fields[name]) if name in fields else None

    return JobRecord(
        id=_text(fields["id"]),
        kind=_text(fields["kind"]),
        status=JobStatus(_text(fields["status"])),
        progress=int(fields["progress"]),
        created_at=float(fields["created_at"]),
        updated_at=float(fields["updated_at"]),
        started_at=optional_float("started_at"),
        finished_at=optional_float("finished_at"),
        metadata=orjson.loads(fields["metadata"]),
        owner=_text(fields["owner"]),
        result=optional_json("result"),
        error=optional_json("error"),
        expires_at=float(fields["expires_at"]),
    )


def encode_data(data: Mapping[str, Any]) -> bytes:
    """A terminal event's data as the record's ``result`` or ``error`` field."""
    return orjson.dumps(data)
