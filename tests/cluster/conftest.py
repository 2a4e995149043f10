"""One distributed deployment (``grok2api_cluster``) shared by the fault tests of a module:
each test leaves it whole again. ``GROK2API_SOAK=1`` (``make test-soak``) runs the long
profile: more accounts, longer load."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
from grok2api_cluster import Cluster, ClusterSpec, accounts
from grok2api_poolclient.accounts import Account, PoolStats, QuotaSource
from grok2api_poolclient.grpc_transport import GrpcPoolClient

SOAK = os.environ.get("GROK2API_SOAK") == "1"
ACCOUNTS = 300 if SOAK else 40
LOAD_SECONDS = 20.0 if SOAK else 3.0  # steady load before, between and after each fault
LEASE_TTL_SECONDS = 4.0  # a killed gateway's leases come back this soon

FAULT_ENV = (
    ("GROK2API_TOKEN__LEASE_TTL_SECONDS", str(LEASE_TTL_SECONDS)),
    ("GROK2API_TIMEOUT__FIRST_BYTE_TIMEOUT", "2"),  # a stalled upstream is left this soon
    ("GROK2API_PERFORMANCE__MEDIA_RECLAIM_SECONDS", "1.5"),
    # The fixture reads every account's usage once. A periodic round (each replica starts
    # one at boot) re-reading an account while chats on it are in flight sets the pool to
    # the upstream's figure before those chats are charged: the quota checks would then see
    # a difference the faults did not make.
    ("GROK2API_TOKEN__AUTO_REFRESH", "false"),
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    spec = ClusterSpec(accounts=ACCOUNTS, tier="heavy", auto_quota=5000, env=FAULT_ENV)
    with Cluster(tmp_path_factory.mktemp("cluster"), spec) as started:
        asyncio.run(refresh_all(started.pool_addrs[0]))  # the upstream's own windows
        yield started


async def refresh_all(address: str) -> None:
    async with GrpcPoolClient(address) as pool:
        async for progress in pool.refresh_usage(all_accounts=True):
            if progress.finished:
                assert progress.ok, progress.error


def quota_gaps(cluster: Cluster) -> dict[str, int]:
    """Per account and mode, how many units the pool thinks remain beyond what the simulator
    says (negative: the pool counts more spent than the upstream did), over the windows the
    pool has read from the upstream (real, or estimated from a real one since)."""
    assert cluster.simulator is not None
    gaps: dict[str, int] = {}
    for account in list_accounts(cluster):
        credential = accounts.credential_of(account.note, cluster.credentials)
        assert credential is not None, account.note
        for window in account.quota:
            if window.source is not QuotaSource.DEFAULT:  # read from the upstream once
                upstream = cluster.simulator.quota(credential, mode=window.mode)
                gaps[f"{account.account_id}:{window.mode}"] = window.remaining - int(
                    upstream["remaining"]
                )
    return gaps


def list_accounts(cluster: Cluster) -> list[Account]:
    async def read() -> list[Account]:
        found: list[Account] = []
        async with GrpcPoolClient(cluster.pool_target) as pool:
            token = ""
            while True:
                page = await pool.list_accounts(page_size=200, page_token=token)
                found += page.accounts
                token = page.next_page_token
                if not token:
                    return found

    return asyncio.run(read())


def pool_stats(cluster: Cluster) -> PoolStats:
    async def read() -> PoolStats:
        async with GrpcPoolClient(cluster.pool_target) as pool:
            return await pool.stats()

    return asyncio.run(read())


def leases_in_flight(cluster: Cluster) -> int:
    return pool_stats(cluster).leases_in_flight


def logs_of(cluster: Cluster) -> str:
    return "\n".join(f"--- {name}\n{p.tail(40)}" for name, p in cluster.processes.items())


def settle_leases(cluster: Cluster) -> None:
    """Wait until every lease is released or reclaimed (a killed holder's after its TTL)."""
    deadline = time.monotonic() + LEASE_TTL_SECONDS + 15
    while time.monotonic() < deadline:
        if leases_in_flight(cluster) == 0:
            return
        time.sleep(0.25)
    raise AssertionError(f"{leases_in_flight(cluster)} leases never came back\n{logs_of(cluster)}")
