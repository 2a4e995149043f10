"""The ``PoolClient`` protocol: what every caller of the token pool may rely on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from . import leases


class PoolClient(Protocol):
    async def acquire(
        self,
        *,
        model: str,
        cost: int | None = None,
        exclude: Sequence[str] = (),
        request_id: str = "",
    ) -> leases.Lease:
        """Lease an eligible account for ``model``, reserving ``cost`` (catalogue cost if None).

        Raises ``errors.PoolExhausted`` (with a reason and the earliest retry time) when no
        account can serve, ``errors.InvalidRequest`` for an unknown model.
        """
        ...

    async def release(
        self,
        lease: leases.Lease,
        *,
        outcome: leases.Outcome,
        retry_after: float | None = None,
        quota: Sequence[leases.QuotaFigures] = (),
    ) -> None:
        """Return a lease with what happened; the pool updates quota, cooldown and failures."""
        ...
