"""Events on a job's event stream: progress (any number), then one terminal result or error.

``data`` is JSON-compatible. An error event's data always holds ``code`` (a short
machine-readable string) and ``message`` (a sentence saying what happened).
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Mapping
from typing import Any

import orjson

from .frozen import built


class EventType(enum.StrEnum):
    PROGRESS = "progress"
    RESULT = "result"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class JobEvent:
    type: EventType
    data: Mapping[str, Any]
    at: float = dataclasses.field(default_factory=time.time)

    @property
    def terminal(self) -> bool:
        """Result and error end the job; nothing is published after them."""
        return self.type is not EventType.PROGRESS


def progress(data: Mapping[str, Any]) -> JobEvent:
    return _event(EventType.PROGRESS, dict(data), time.time())


def result(data: Mapping[str, Any]) -> JobEvent:
    return _event(EventType.RESULT, dict(data), time.time())


def error(*, code: str, message: str, **details: Any) -> JobEvent:
    """An error event; ``details`` (JSON-compatible) travel beside code and message."""
    return _event(EventType.ERROR, {"code": code, "message": message, **details}, time.time())


def encode(event: JobEvent) -> bytes:
    return orjson.dumps({"type": event.type.value, "data": event.data, "at": event.at})


def decode(raw: bytes | str) -> JobEvent:
    data = orjson.loads(raw)
    return _event(EventType(data["type"]), data["data"], data["at"])


def _event(type_: EventType, data: Mapping[str, Any], at: float) -> JobEvent:
    return built(JobEvent, type=type_, data=data, at=at)  # a job makes several: see frozen
