"""A real token-pool service (gRPC on loopback, SQLite in tmp) for operator tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from grok2api_cluster.cluster import free_port
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome, QuotaFigures
from grok2api_settings import Settings
from operator_harness import PoolFactory
from token_pool import main as pool_main
from token_pool import service


@pytest.fixture
async def token_pool(tmp_path: Path) -> AsyncIterator[tuple[service.PoolService, str]]:
    """The pool service and its gRPC address; one invalid-credential failure invalidates."""
    settings = Settings.model_validate({
        "data_dir": str(tmp_path),
        "token": {"auto_refresh": False, "fail_threshold": 1},
    })  # fmt: skip
    address = f"127.0.0.1:{free_port()}"
    async with pool_main.running(settings, redis=None, grpc_address=address) as pool:
        yield pool, address


def grpc_clients(address: str) -> PoolFactory:
    """Each operator replica talks to the pool over gRPC, as in a cluster."""

    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[Any]:
        async with GrpcPoolClient(address) as client:
            yield client

    return connect


async def lease_and_release(
    pool: service.PoolService, outcome: Outcome, *, quota: Sequence[QuotaFigures] = ()
) -> None:
    """What a gateway does with the account: one call ending with ``outcome``, reporting
    the upstream's ``quota`` figures."""
    lease = await pool.acquire(model="grok-4")
    retry_after = 600 if outcome == Outcome.RATE_LIMITED else None
    await pool.release(lease, outcome=outcome, retry_after=retry_after, quota=quota)

