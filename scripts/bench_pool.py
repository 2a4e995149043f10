"""Benchmark the token pool: Acquire+Release pairs per second and pair latency (p50/p99).

Scenarios (``make bench-pool``):
  in-process / memory   PoolService called directly, in-process hot state
  in-process / redis    PoolService called directly, Redis hot state
  grpc / redis / 1      one replica process (gRPC server), one client process over gRPC
  grpc / redis / 2      two replica processes on the same Redis prefix, one client process
                        per replica
  … unary               the same over the unary Acquire/Release calls instead of the
                        batched LeaseBatches stream (GrpcPoolClient's default)
  … 16 callers          fewer concurrent callers: latency at a lower load
  … 5,000/s offered     open loop: each client starts 5 000 pairs a second on a schedule
                        (once a millisecond, the pairs then due), whatever the answers:
                        the target load of a replica
  … 1 caller            one sequential caller (latency without queueing)

Besides pairs/s and latency, each gRPC scenario reports the CPU that a replica, its client
and Redis spend per pair, and the cores the whole run kept busy. A replica's CPU per pair
staying flat from one replica to two is what horizontal scaling rests on. Callers that each
wait for their answer move in lock step (all acquires out, all answers back, all releases
out), so one replica's run keeps about one core busy whatever the callers; two replicas
add a second such cycle, and on a 2-core machine the two compete for the same cores.

Each replica is a separate process running ``token_pool.main.running`` with the gRPC server;
clients are separate processes driving ``GrpcPoolClient`` with concurrent tasks. With a
fixed number of callers, pairs/s times mean latency is about the callers (each caller waits for its
answer), so a p99 in single-digit milliseconds needs few callers per replica. Accounts get
a huge quota first so the run measures leasing, not exhaustion. Uses the local Redis
(``--redis``) under a unique prefix, and a temporary SQLite store.

    uv run python scripts/bench_pool.py [--seconds 5] [--concurrency 32] [--accounts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import bench_gateway
import redis.asyncio as aioredis
import uvloop
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome, QuotaFigures
from grok2api_settings import Settings
from grok2api_storage import crypto
from token_pool import main as pool_main

MODEL = "grok-4"
TARGET_RATE = 5_000  # pairs/s per replica the pool aims at, with a p99 under 5 ms
TICK = 0.001  # open-loop schedule: the pairs due are started once a millisecond
BIG = 10_000_000


def _settings(data_dir: str, key: str) -> Settings:
    return Settings.model_validate({
        "data_dir": data_dir,
        "token": {"auto_refresh": False, "max_inflight_per_account": 1000},
        "security": {"encryption_key": key},
        "telemetry": {"metrics_enabled": False},
    })  # fmt: skip


@contextlib.asynccontextmanager
async def _pool(
    args: argparse.Namespace, *, redis: bool, address: str | None = None
) -> AsyncIterator[Any]:
    client = aioredis.Redis.from_url(args.redis) if redis else None
    try:
        async with pool_main.running(
            _settings(args.data_dir, args.key), redis=client, grpc_address=address,
            hot_prefix=args.prefix,
        ) as pool:  # fmt: skip
            yield pool
    finally:
        if client is not None:
            await client.aclose()


async def _seed(pool: Any, accounts: int) -> None:
    """Add accounts (once) and give each a huge quota through an upstream-style figure."""
    existing = (await pool.list_accounts(page_size=1)).total
    for n in range(existing, accounts):
        await pool.upsert_account(credential=f"bench-{n:05d}-" + "b" * 24)
    page = await pool.list_accounts(page_size=1000)
    for account in page.accounts:
        others = [a.account_id for a in page.accounts if a.account_id != account.account_id]
        lease = await pool.acquire(model=MODEL, exclude=others)
        figure = QuotaFigures(mode="auto", remaining=BIG, total=BIG, window_seconds=7200)
        await pool.release(lease, outcome=Outcome.SUCCESS, quota=[figure])


class _Pairs:
    """Acquire+release pairs against one pool, timed from the moment this was made."""

    def __init__(self, pool: PoolClient) -> None:
        self._pool = pool
        self.latencies: list[float] = []
        self.errors = 0
        self._began, self._cpu = time.perf_counter(), time.process_time()

    async def one(self) -> None:
        """One pair; its latency is what its caller sees, to the release's answer."""
        started = time.perf_counter()
        try:
            lease = await self._pool.acquire(model=MODEL)
            await self._pool.release(lease, outcome=Outcome.SUCCESS)
        except Exception:
            self.errors += 1
            return
        self.latencies.append(time.perf_counter() - started)

    def result(self) -> dict[str, Any]:
        return {"pairs": len(self.latencies), "errors": self.errors,
                "elapsed": time.perf_counter() - self._began,
                "cpu_seconds": time.process_time() - self._cpu,
                "latencies": self.latencies}  # fmt: skip


async def _drive(pool: PoolClient, *, seconds: float, concurrency: int) -> dict[str, Any]:
    pairs = _Pairs(pool)
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await pairs.one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return pairs.result()


async def _drive_at_rate(pool: PoolClient, *, seconds: float, rate: float) -> dict[str, Any]:
    """Open loop: pairs start on a fixed schedule, ``rate`` a second, whatever the answers,
    so a slow answer cannot hold the next pairs back and hide the queueing behind it."""
    pairs = _Pairs(pool)
    running: set[asyncio.Future[None]] = set()
    began = time.perf_counter()
    total, launched = int(rate * seconds), 0
    while launched < total:
        due = began + launched / rate
        while launched < total and due <= time.perf_counter():
            task = asyncio.ensure_future(pairs.one())
            running.add(task)
            task.add_done_callback(running.discard)
            launched += 1
            due = began + launched / rate
        # The loop's timers tick in milliseconds: a shorter sleep would spin.
        await asyncio.sleep(max(TICK, due - time.perf_counter()))
    await asyncio.gather(*running)
    return pairs.result()


def _summary(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    pairs = sum(r["pairs"] for r in runs)
    elapsed = max(r["elapsed"] for r in runs)
    lat = sorted(x for r in runs for x in r["latencies"])
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: 0.0)
    return {"scenario": name, "pairs_per_s": round(pairs / elapsed), "p50_ms": round(pct(0.5), 2),
            "p99_ms": round(pct(0.99), 2), "errors": sum(r["errors"] for r in runs),
            "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else 0.0}  # fmt: skip


async def _in_process(args: argparse.Namespace, *, redis: bool) -> dict[str, Any]:
    async with _pool(args, redis=redis) as pool:
        await _seed(pool, args.accounts)
        run = await _drive(pool, seconds=args.seconds, concurrency=args.concurrency)
    return _summary(f"in-process / {'redis' if redis else 'memory'}", [run])


def _spawn(args: argparse.Namespace, role: str, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, __file__, "--role", role, "--data-dir", args.data_dir,
        f"--key={args.key}", "--prefix", args.prefix, "--redis", args.redis,
        "--seconds", str(args.seconds), "--concurrency", str(args.concurrency), *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _grpc(
    args: argparse.Namespace, replicas: int, *, unary: bool = False, rate: float = 0.0
) -> dict[str, Any]:
    ports = [_free_port() for _ in range(replicas)]
    servers = [_spawn(args, "server", "--port", str(p)) for p in ports]
    try:
        for server in servers:
            assert server.stdout is not None
            if server.stdout.readline().strip() != "READY":
                raise RuntimeError("a replica failed to start")
        transport = ["--unary"] if unary else []
        if rate:
            transport += ["--rate", str(rate)]
        replica_cpu, redis_cpu = _cpu_seconds(servers), asyncio.run(_redis_cpu_seconds(args))
        clients = [_spawn(args, "client", "--port", str(p), *transport) for p in ports]
        runs = []
        for client in clients:
            out, _ = client.communicate(timeout=args.seconds + 60)
            runs.append(json.loads(out))
        replica_cpu = _cpu_seconds(servers) - replica_cpu
        redis_cpu = asyncio.run(_redis_cpu_seconds(args)) - redis_cpu
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    summary = _summary(f"grpc / redis / {replicas} replica{'s' if replicas > 1 else ''}", runs)
    pairs = sum(r["pairs"] for r in runs)
    client_cpu = sum(r["cpu_seconds"] for r in runs)
    busy = max(r["elapsed"] for r in runs)  # replicas and Redis idle while clients start
    return summary | {
        "replica_cpu_us_per_pair": round(replica_cpu / max(pairs, 1) * 1e6),
        "client_cpu_us_per_pair": round(client_cpu / max(pairs, 1) * 1e6),
        "redis_cpu_us_per_pair": round(redis_cpu / max(pairs, 1) * 1e6),
        "cores_busy": round((replica_cpu + client_cpu + redis_cpu) / busy, 2),
    }


def _cpu_seconds(processes: list[subprocess.Popen[str]]) -> float:
    return sum(bench_gateway.cpu_seconds(process.pid) for process in processes)


async def _redis_cpu_seconds(args: argparse.Namespace) -> float:
    client = aioredis.Redis.from_url(args.redis)
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def _serve(args: argparse.Namespace) -> None:
    async with _pool(args, redis=True, address=f"127.0.0.1:{args.port}"):
        _freeze_startup_objects()
        print("READY", flush=True)
        await asyncio.Event().wait()


async def _client(args: argparse.Namespace) -> None:
    async with GrpcPoolClient(f"127.0.0.1:{args.port}", batched=not args.unary) as pool:
        _freeze_startup_objects()
        if args.rate:
            run = await _drive_at_rate(pool, seconds=args.seconds, rate=args.rate)
        else:
            run = await _drive(pool, seconds=args.seconds, concurrency=args.concurrency)
    print(json.dumps(run))


def _freeze_startup_objects() -> None:
    """As ``grok2api run`` does once started (see grok2api_cli.runtime): what exists now
    lives as long as the process, and the collector's passes need not walk it."""
    gc.collect()
    gc.freeze()


async def _prepare(args: argparse.Namespace) -> None:
    async with _pool(args, redis=True) as pool:
        await _seed(pool, args.accounts)


def run_scenarios(args: argparse.Namespace, *, short: bool = False) -> list[dict[str, Any]]:
    """Every scenario of the module docstring (``short``: only in-process memory and redis,
    and one and two gRPC replicas, as ``make bench`` runs them); one summary each.
    ``args`` carries ``seconds``, ``concurrency``, ``accounts`` and ``redis``."""
    results = []
    with tempfile.TemporaryDirectory() as data_dir:
        args.data_dir, args.key = data_dir, crypto.generate_key()
        args.prefix = f"bench:pool:{uuid.uuid4().hex[:8]}"
        results.append(asyncio.run(_in_process(args, redis=False)))
        asyncio.run(_prepare(args))
        results.append(asyncio.run(_in_process(args, redis=True)))
        results.append(_grpc(args, 1))
        results.append(_grpc(args, 2))
        if short:
            asyncio.run(_cleanup(args))
            return results
        results.append(_grpc(args, 1, unary=True) | {"scenario": "grpc / redis / 1, unary"})
        loaded = args.concurrency
        args.concurrency = 16
        results.append(_grpc(args, 1) | {"scenario": "grpc / redis / 1, 16 callers"})
        results.append(_grpc(args, 2) | {"scenario": "grpc / redis / 2, 16 callers each"})
        for replicas in (1, 2):
            results.append(_grpc(args, replicas, rate=TARGET_RATE) | {
                "scenario": f"grpc / redis / {replicas}, {TARGET_RATE:,}/s offered"
                            + (" each" if replicas > 1 else "")})  # fmt: skip
        args.concurrency = 1  # unloaded latency: one caller, nothing queued
        results.append(
            asyncio.run(_in_process(args, redis=True))
            | {"scenario": "in-process / redis, 1 caller"}
        )
        results.append(_grpc(args, 1) | {"scenario": "grpc / redis / 1, 1 caller"})
        args.concurrency = loaded
        asyncio.run(_cleanup(args))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--unary", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "server":
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(_serve(args))  # as `grok2api run --target token-pool` runs
        return
    if args.role == "client":
        uvloop.run(_client(args))
        return
    results = run_scenarios(args)
    print(f"{'scenario':<40}{'pairs/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
          f"{'CPU us/pair: replica':>22}{'client':>7}{'redis':>6}{'cores busy':>11}")  # fmt: skip
    for r in results:
        print(
            f"{r['scenario']:<40}{r['pairs_per_s']:>9}{r['p50_ms']:>8}{r['p99_ms']:>8}"
            f"{r['errors']:>7}{r.get('replica_cpu_us_per_pair', '-'):>22}"
            f"{r.get('client_cpu_us_per_pair', '-'):>7}{r.get('redis_cpu_us_per_pair', '-'):>6}"
            f"{r.get('cores_busy', '-'):>11}"
        )
    print(f"(cpus={os.cpu_count()}, concurrency={args.concurrency} per client, "
          f"{args.seconds}s per scenario, {args.accounts} accounts)")  # fmt: skip


async def _cleanup(args: argparse.Namespace) -> None:
    client = aioredis.Redis.from_url(args.redis)
    keys = [k async for k in client.scan_iter(match=f"{args.prefix}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


if __name__ == "__main__":
    main()
