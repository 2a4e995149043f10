"""The chat workload of ``make bench`` through the distributed deployment
(``grok2api_cluster.Cluster``: gateways behind a round-robin front, two token-pool replicas,
two media workers, Redis, PostgreSQL, the simulator), with one gateway and with two.

Each deployment is measured like the single-process mode (bench_suite_chat.measure); the
gateways' CPU per request is summed over every gateway process, and the front's is reported
apart (it is the harness's, not the project's). Ratios are taken against the run's
simulator-direct rows (bench_suite_chat.with_ratios).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import bench_suite_chat

ACCOUNTS = 300
BIG_QUOTA = 10_000_000


def measure(*, work: Path, levels: Sequence[int], seconds: float) -> dict[str, Any]:
    """``{"rows": [...], "scaling": [...]}``: bench_suite_chat rows of each deployment, and
    two gateways against one (:func:`scaling`).

    One deployment serves both: two gateways first, then the second is stopped and its
    front passes over it (it skips a gateway that refuses connections), so the two are
    measured with the same pools, Redis, database and front, and one start (about a
    minute here) is saved."""
    work.mkdir(parents=True)
    with started(work, gateways=2) as cluster:
        two = _chat(cluster, "cluster-2gw", levels=levels, seconds=seconds)
        gateways = sorted(name for name in cluster.pids() if name.startswith("gateway"))
        for name in gateways[1:]:
            cluster.terminate(name)
        one = _chat(cluster, "cluster-1gw", levels=levels, seconds=seconds)
    return {"rows": one + two, "scaling": scaling(one + two)}


def _chat(cluster: Any, deployment: str, *, levels: Sequence[int],
          seconds: float) -> list[dict[str, Any]]:
    pids = cluster.pids()
    gateway_pids = {name: pid for name, pid in pids.items() if name.startswith("gateway")}
    others = {name: pid for name, pid in pids.items() if name not in gateway_pids}
    port = urlsplit(cluster.url).port
    assert port is not None, cluster.url
    first = next(iter(gateway_pids.values()))
    return asyncio.run(bench_suite_chat.measure(
        deployment=deployment, through=bench_suite_chat.gateway_target(port=port, pid=first),
        gateway_pids=gateway_pids, other_pids=others, levels=levels, seconds=seconds))


@contextlib.contextmanager
def started(folder: Path, *, gateways: int) -> Iterator[Any]:
    """The deployment with ``gateways`` gateways, speaking REST chat upstream with 64
    leases per account as the single-process rows do, its accounts given quotas the run
    cannot spend (the simulator's own are tens of requests) and the pool told of them."""
    from grok2api_cluster import Cluster, ClusterSpec

    # No admin service: chat does not reach it, and every idle process takes from 2 cores.
    spec = ClusterSpec(gateways=gateways, pools=2, workers=2, admin=False, accounts=ACCOUNTS,
                       env=(
                           ("GROK2API_NETWORK__CHAT_PROTOCOL", "rest"),
                           ("GROK2API_TOKEN__MAX_INFLIGHT_PER_ACCOUNT", "64"),
                       ))
    with Cluster(folder, spec) as cluster:
        assert cluster.simulator is not None  # set once started
        for credential in cluster.credentials:
            cluster.simulator.add_account(credential, tier="super", quotas=dict.fromkeys(
                ("auto", "fast", "expert", "heavy"), BIG_QUOTA))
        asyncio.run(_read_quotas(cluster.pool_addrs[0]))
        yield cluster


async def _read_quotas(pool_addr: str) -> None:
    from grok2api_poolclient.grpc_transport import GrpcPoolClient

    async with GrpcPoolClient(pool_addr) as pool:
        async for _ in pool.refresh_usage(all_accounts=True):
            pass


def scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per stream mode and concurrency: two gateways' requests/s over one's, and each
    deployment's gateway CPU per request (flat CPU per request is what scaling rests on)."""
    by = {(row["deployment"], row["stream"], row["c"]): row for row in rows}
    found = []
    for (deployment, stream, concurrency), one in by.items():
        if deployment != "cluster-1gw":
            continue
        two = by.get(("cluster-2gw", stream, concurrency))
        if two is None:
            continue
        found.append({
            "stream": stream, "c": concurrency,
            "rps_1gw": one["rps"], "rps_2gw": two["rps"],
            "two_over_one": round(two["rps"] / one["rps"], 2) if one["rps"] else None,
            "gateway_cpu_ms_per_req_1gw": one["gateway_cpu_ms_per_req"],
            "gateway_cpu_ms_per_req_2gw": two["gateway_cpu_ms_per_req"],
        })
    return found
