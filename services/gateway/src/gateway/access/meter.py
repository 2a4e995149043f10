"""One admitted request's account: what it took from its key's limits and what it cost.

The endpoint fills it in as the request runs (the lease's tier, the first token, the token
counts, the error if any); ``close`` ends it once, however the request ended: the
concurrency slot goes back (and, for a failed request, its quota units), and the request's
``UsageRecord`` goes to the usage log.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from grok2api_storage.records import UsageRecord, usage_record
from starlette.requests import ClientDisconnect

from .. import errors
from ..usage_log import UsageLog
from . import limits as limits_
from .caller import Caller

CLIENT_CLOSED = 499  # nginx's code for "the client went away before the answer ended"


class _RecordIds:
    """Usage-record ids unique across processes and restarts without a system call per
    request: 80 random bits drawn once per process (again in a forked child), then a
    counter. 32 hex digits, as ``secrets.token_hex(16)`` gave; a process's ids sort in the
    order it made them, so the store's id index grows at one end."""

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self.prefix = secrets.token_hex(10)
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self._counter):012x}"


RECORD_IDS = _RecordIds()


class Meter:
    __slots__ = (
        "_closed",
        "_endpoint",
        "_error_code",
        "_first_token",
        "_limits",
        "_started",
        "_status",
        "_timestamp",
        "_usage",
        "admitted",
        "caller",
        "completion_tokens",
        "cost",
        "model",
        "prompt_tokens",
        "request_id",
        "tier",
    )

    def __init__(
        self,
        *,
        caller: Caller,
        endpoint: str,
        request_id: str,
        limits: limits_.LimitStore,
        usage: UsageLog | None,
    ) -> None:
        self.caller = caller
        self.model = ""  # known once the body is read (``Guard.admit`` sets it, and cost)
        self.cost = 0
        self.admitted: limits_.Admitted | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tier: str | None = None
        self._endpoint = endpoint
        self.request_id = request_id
        self._limits = limits
        self._usage = usage
        self._timestamp = datetime.now(UTC)
        self._started = time.perf_counter()
        self._first_token: float | None = None
        self._status: int | None = None
        self._error_code: str | None = None
        self._closed = False

    def first_token(self) -> None:
        if self._first_token is None:
            self._first_token = time.perf_counter()

    def succeeded(self, usage: Mapping[str, Any]) -> None:
        """The request was answered in full; ``usage`` is the OpenAI usage object of it."""
        self._status = 200
        self.prompt_tokens = usage["prompt_tokens"]
        self.completion_tokens = usage["completion_tokens"]

    def fail(self, exc: BaseException) -> None:
        """The request failed with ``exc``: its status and code as the client sees them
        (a client that left before its body was in is left to ``close``: 499)."""
        if isinstance(exc, ClientDisconnect):
            return
        status, body = errors.payload_for(exc, quiet=True)
        self._status, self._error_code = status, body["error"].get("code") or body["error"]["type"]

    async def abort(self, exc: BaseException) -> None:
        """The request failed before it had a response: record it as failed and close."""
        self.fail(exc)
        await self.close()

    def answered(self, status: int) -> None:
        """The response went out whole with ``status``: the outcome, unless the endpoint
        already said how it went (a stream's head says 200 before an error may end it)."""
        if self._status is None:
            self._status = status
            if status >= 400:
                self._error_code = "http_" + str(status)

    async def close(self) -> None:
        """Release and record; a request that neither succeeded nor failed was abandoned by
        its client (recorded as 499)."""
        if self._closed:
            return
        self._closed = True
        status = self._status
        if status is None:
            status, self._error_code = CLIENT_CLOSED, "client_closed_request"
        admitted = self.admitted
        if isinstance(admitted, limits_.Admitted):
            await self._limits.release(admitted, refund=status >= 400 and status != CLIENT_CLOSED)
        if self._usage is not None:
            self._usage.record(self._record(status))

    def _record(self, status: int) -> UsageRecord:
        now = time.perf_counter()
        first = self._first_token
        return usage_record(
            id=RECORD_IDS.next(),
            timestamp=self._timestamp,
            key_id=self.caller.key_id,
            model=self.model,
            endpoint=self._endpoint,
            status=status,
            error_code=self._error_code,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_units=self.cost,
            latency_ms=(now - self._started) * 1000.0,
            ttft_ms=None if first is None else (first - self._started) * 1000.0,
            account_tier=self.tier,
            request_id=self.request_id,
        )
