"""The upstream connection cap (``network.max_connections``), and the waits it causes made
visible.

A :class:`ConnectionCap` hands out at most ``limit`` slots; a caller that finds none free
waits for one. Waiting is legitimate back-pressure, but a silent queue looks like a hung
gateway (issue #21: 2,000 slow streams behind a cap of 256, none finished in 30 s and
nothing said why). So every wait is counted (``grok2api_upstream_connection_waits_total``),
the callers waiting right now are a gauge (``grok2api_upstream_connection_waiting``, next
to the slots taken, ``grok2api_upstream_connections_in_use``), and the process logs
``upstream_connection_wait`` at most once per :data:`LOG_INTERVAL` seconds while calls
wait, naming how many and the setting to raise. ``kind`` tells the HTTP transfers' cap
from the WebSockets' (each transport has one of each).
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

KINDS = ("http", "websocket")
LOG_INTERVAL = 10.0
"""Seconds between two ``upstream_connection_wait`` log lines of one process."""
SETTING_HINT = "raise network.max_connections (GROK2API_NETWORK__MAX_CONNECTIONS) or add replicas"

WAITING = Gauge(
    "grok2api_upstream_connection_waiting",
    "Calls waiting now for a free upstream connection slot (network.max_connections), "
    "by kind (http, websocket).",
    ["kind"],
    multiprocess_mode="livesum",
)
IN_USE = Gauge(
    "grok2api_upstream_connections_in_use",
    "Upstream connection slots taken now (open streams, WebSockets, transfers), by kind.",
    ["kind"],
    multiprocess_mode="livesum",
)
WAITS = Counter(
    "grok2api_upstream_connection_waits_total",
    "Calls that found every upstream connection slot taken and had to wait, by kind.",
    ["kind"],
)
for _kind in KINDS:  # every series exists from the start (a rate needs its first sample)
    WAITING.labels(_kind)
    IN_USE.labels(_kind)
    WAITS.labels(_kind)

_last_logged: list[float] = []  # monotonic time of this process's last wait line
_clock = time.monotonic  # tests move it


class ConnectionCap:
    """At most ``limit`` slots of one ``kind`` through one egress (its name, for the log)."""

    def __init__(self, limit: int, *, kind: str, egress: str = "default") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self.limit = limit
        self.kind = kind
        self.egress = egress
        self.waiting = 0
        self.in_use = 0
        self._free = asyncio.Semaphore(limit)
        self._waiting_gauge = WAITING.labels(kind)
        self._in_use_gauge = IN_USE.labels(kind)
        self._waits = WAITS.labels(kind)

    async def acquire(self) -> None:
        """Take a slot, waiting as long as it takes (the caller bounds the wait); every
        acquire is paired with one :meth:`release`."""
        if not self._free.locked():
            await self._free.acquire()  # a free slot: no wait, nothing to report
            self._taken()
            return
        self.waiting += 1
        self._waiting_gauge.inc()
        self._waits.inc()
        self._report()
        try:
            await self._free.acquire()
        finally:
            self.waiting -= 1
            self._waiting_gauge.dec()
        self._taken()
        if self.waiting:
            self._report()  # a queue that lasts is logged again, not only when it forms

    def release(self) -> None:
        self.in_use -= 1
        self._in_use_gauge.dec()
        self._free.release()

    def _taken(self) -> None:
        self.in_use += 1
        self._in_use_gauge.inc()

    def _report(self) -> None:
        now = _clock()
        if _last_logged and now - _last_logged[0] < LOG_INTERVAL:
            return
        _last_logged[:] = [now]
        log.warning(
            "upstream_connection_wait waiting=%d kind=%s egress=%s limit=%d hint=%r",
            self.waiting, self.kind, self.egress, self.limit, SETTING_HINT,
        )  # fmt: skip
