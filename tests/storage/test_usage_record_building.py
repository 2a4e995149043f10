"""``records.usage_record``: the cheap way to build a ``UsageRecord`` makes the same record."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from grok2api_storage.records import UsageRecord, usage_record

FIELDS = {
    "id": "a" * 32,
    "timestamp": datetime(2026, 12, 7, 23, 6, 2, 123456, tzinfo=UTC),
    "key_id": "key-1",
    "model": "grok-4",
    "endpoint": "/v1/chat/completions",
    "status": 200,
    "error_code": None,
    "prompt_tokens": 10,
    "completion_tokens": 20,
    "cost_units": 1,
    "latency_ms": 12.5,
    "ttft_ms": 3.25,
    "account_tier": "super",
    "request_id": "req-1",
}


def test_every_field_given_makes_a_record_equal_to_the_class_s_own() -> None:
    built = usage_record(**FIELDS)
    assert type(built) is UsageRecord
    assert built == UsageRecord(**FIELDS)
    assert hash(built) == hash(UsageRecord(**FIELDS))
    assert dataclasses.asdict(built) == FIELDS


def test_the_record_built_stays_frozen() -> None:
    built = usage_record(**FIELDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.status = 500  # type: ignore[misc]


def test_a_missing_field_takes_the_class_default() -> None:
    fields = {name: value for name, value in FIELDS.items() if name != "request_id"}
    assert usage_record(**fields).request_id == ""


def test_an_unknown_field_is_refused_as_the_class_refuses_it() -> None:
    with pytest.raises(TypeError):
        usage_record(**FIELDS, prompt="never stored")
