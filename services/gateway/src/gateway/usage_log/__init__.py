"""The per-request usage-record pipeline (issue #16).

``UsageLog.record`` buffers a ``UsageRecord`` in memory (synchronous, no I/O); a background
flusher hands batches to a sink: ``RedisUsageQueue`` (split deployment; ``UsageDrainer``
moves the list into the durable store) or ``StoreSink`` (single process: straight into the
store). ``usage_pipeline`` wires either mode for an app's lifespan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backoff import Backoff
from .log import UsageLog
from .pipeline import usage_pipeline
from .redis_queue import RedisUsageQueue, UsageKeys
from .retention import LocalGate, RedisGate, RetentionPurger
from .sink import StoreSink, UsageSink, UsageStore, write_to_store

if TYPE_CHECKING:
    from .drainer import UsageDrainer


def __getattr__(name: str) -> object:
    # The drainer runs beside split gateways only; it loads redis-py's locking.
    if name == "UsageDrainer":
        from .drainer import UsageDrainer

        return UsageDrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Backoff",
    "LocalGate",
    "RedisGate",
    "RedisUsageQueue",
    "RetentionPurger",
    "StoreSink",
    "UsageDrainer",
    "UsageKeys",
    "UsageLog",
    "UsageSink",
    "UsageStore",
    "usage_pipeline",
    "write_to_store",
]
