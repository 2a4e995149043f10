"""Who is calling and whether they may: the API key, the model allowlist, the limits.

The API is open only while there is neither a master key (``app.api_key``, several
comma-separated) nor any client key in the store; from the moment one exists, every ``/v1``
call needs a key. A master key has no limits and is recorded with no key id. A client key
is refused (401) when unknown, revoked, disabled or expired, (403) for a model outside its
allowlist and (429, with ``Retry-After``) when a limit is reached.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime

from grok2api_settings.live import LiveSettings
from grok2api_storage.records import QuotaUnit
from starlette.datastructures import Headers

from .. import errors, http_metrics, metrics
from ..usage_log import UsageLog
from . import limits as limits_
from .caller import Caller
from .directory import KeyDirectory
from .meter import Meter

log = logging.getLogger(__name__)


class Guard:
    """The access rules of one gateway app: ``authenticate``, then ``start`` and ``admit``
    each request that uses a model."""

    def __init__(
        self,
        *,
        settings: LiveSettings,
        directory: KeyDirectory | None,
        limits: limits_.LimitStore,
        usage: UsageLog | None,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._limits = limits
        self._usage = usage
        self._master_source: str | None = None
        self._master_keys: tuple[bytes, ...] = ()

    async def authenticate(self, headers: Headers) -> Caller:
        """The caller, or ``AuthenticationFailed`` (401)."""
        masters = self._masters()
        directory = self._directory
        presented = presented_key(headers)
        if not presented:
            if await self._open(masters):
                return Caller.UNRESTRICTED
            raise errors.AuthenticationFailed(
                "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'."
            )
        candidate = presented.encode()
        if any(hmac.compare_digest(candidate, master) for master in masters):
            return Caller.UNRESTRICTED
        record = await directory.find(presented) if directory is not None else None
        if record is None:
            if await self._open(masters):
                return Caller.UNRESTRICTED  # an open API ignores whatever key a client sends
            log.info("auth_rejected reason=unknown")
            raise errors.AuthenticationFailed("Incorrect API key provided.")
        refusal = record.refusal(datetime.now(UTC))
        if refusal is not None:
            log.info("auth_rejected reason=%s key_id=%s", refusal, record.id)
            raise errors.AuthenticationFailed(
                f"This API key is {refusal}: ask the gateway's administrator for a valid key.",
                code=f"api_key_{refusal}",
            )
        return Caller(key=record)

    def start(self, caller: Caller, *, endpoint: str, request_id: str) -> Meter:
        """The meter of one authenticated request; ``admit`` it once its model is known,
        and ``close`` it however the request ends (the record is written then)."""
        return Meter(
            caller=caller,
            endpoint=endpoint,
            request_id=request_id,
            limits=self._limits,
            usage=self._usage,
        )

    async def admit(self, meter: Meter, *, model: str, cost: int) -> None:
        """Take the request's share of its key's limits, or refuse it: 403 for a model
        outside the allowlist, 429 for a limit reached."""
        meter.model, meter.cost = model, cost
        http_metrics.note_model(model)
        key = meter.caller.key
        if key is None:
            return
        if not meter.caller.allows(model):
            raise errors.ModelNotAllowed(
                f"This API key may not use the model '{model}'; it may use: "
                f"{', '.join(key.limits.allowed_models or ())}.",
                param="model",
            )
        units = cost if key.limits.quota_unit is QuotaUnit.COST else 1
        answer = await self._limits.admit(key.id, key.limits, units=units)
        if isinstance(answer, limits_.Refused):
            metrics.key_limit_refused(answer.limit)
            raise errors.RateLimited.of(answer)
        meter.admitted = answer

    async def _open(self, masters: tuple[bytes, ...]) -> bool:
        """No master key and no client key: anyone may call."""
        if masters:
            return False
        return self._directory is None or not await self._directory.any_exist()

    def _masters(self) -> tuple[bytes, ...]:
        source = self._settings.current.app.api_key
        if source != self._master_source:
            keys = (part.strip() for part in source.split(","))
            self._master_keys = tuple(key.encode() for key in keys if key)
            self._master_source = source
        return self._master_keys


def presented_key(headers: Headers) -> str:
    """The key of ``Authorization: Bearer <key>`` or, failing that, ``x-api-key``."""
    header = headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return (headers.get("x-api-key") or "").strip()
