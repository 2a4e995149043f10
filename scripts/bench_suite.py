"""``make bench``: every workload, straight to the simulator and through the project, in one
run on one machine; a table on stdout and the figures as JSON.

    uv run python scripts/bench_suite.py [--quick] [--seconds 2] [--streams 2000]
        [--json PATH] [--write-docs [PATH]] [--redis-url URL]
        [--only idle,chat,capacity,pool,media,cluster]

Workloads (each in bench_suite_*.py or an existing bench script, imported):

- idle: the RSS of a fresh `grok2api run` (the single-process mode as a user starts it)
  before any account or request, on its first start and started again on the same DATA_DIR;
- chat: non-streaming and streaming chat completions at concurrency 1/16/64/256 through
  `grok2api run` and straight to the simulator (bench_gateway.py's phases), with the
  gateway's RSS once its accounts were added;
- capacity: slow streams one fresh gateway process holds at once, and its RSS, with the
  default upstream chat generation (mgw, a WebSocket a turn) and with REST;
- pool: token-pool Acquire+Release pairs/s and latency (bench_pool.py, four scenarios);
- media: one-image jobs/s straight to the simulator and through `grok2api run`, and
  through the split services with one and two media workers (bench_media.py);
- cluster: the chat workload through the distributed deployment (grok2api_cluster) with
  one gateway and with two.

Ratios are taken against the simulator-direct rows of the same run, so runs on different
machines compare. The JSON goes to ``.cache/bench/<UTC time>.json`` unless ``--json``;
``--write-docs`` also writes docs/benchmarks.md from it. Redis: a database of its own
(claimed in database 0 as the tests claim theirs) unless ``--redis-url``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bench_suite_capacity
import bench_suite_chat
import bench_suite_cluster
import bench_suite_docs
import bench_suite_report
from bench_gateway import rest_direct
from bench_gateway_procs import start_gateway, start_simulator, stop

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
PARTS = ("idle", "chat", "capacity", "pool", "media", "cluster")
ACCOUNTS = 64  # 2,000 streams at 32 a account, under the per-account cap of 64
SETTLE_SECONDS = 2.0  # after start, before the idle RSS is read
IDLE_TARGET_MB = 120.0
# Stream capacity with each upstream chat generation; mgw (a WebSocket per turn) is the
# default of network.chat_protocol, REST (one HTTP stream) the chat rows' protocol.
DEFAULT_PROTOCOL = "mgw"
CAPACITY_PROTOCOLS = ("mgw", "rest")


def main() -> int:
    args = parse_args()
    # A stopped run still stops what it started (the finally blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    results: dict[str, Any] = {"meta": bench_suite_report.machine(ROOT) | {
        "quick": args.quick, "seconds_per_phase": args.seconds,
        "levels": list(args.levels), "streams": args.streams,
    }}
    with redis_url(args.redis_url) as url, tempfile.TemporaryDirectory(
            prefix="bench-suite-") as tmp:
        work = Path(tmp)
        parts: dict[str, Callable[[], dict[str, Any]]] = {
            "single-process": lambda: single_process(args, work / "single"),
            "pool": lambda: {"pool": pool(args, url)},
            "media": lambda: {"media": media(args, url, work / "media")},
            "cluster": lambda: {"cluster": bench_suite_cluster.measure(
                work=work / "cluster", levels=args.levels, seconds=args.seconds)},
        }
        for name, run in parts.items():
            wanted = {"idle", "chat", "capacity"} if name == "single-process" else {name}
            if not wanted & set(args.only):
                continue
            started = time.monotonic()
            try:
                results.update(run())
            except Exception as error:  # the other parts still run; the exit status says so
                traceback.print_exc()
                results.setdefault("failed", {})[name] = f"{type(error).__name__}: {error}"
            results["meta"].setdefault("part_seconds", {})[name] = round(
                time.monotonic() - started, 1)
    results["meta"]["load_after"] = bench_suite_report.load_average()
    results["meta"]["elapsed_seconds"] = round(time.monotonic() - began, 1)
    results["chat"] = bench_suite_chat.with_ratios(
        results.get("chat", []) + results.get("cluster", {}).pop("rows", []))
    path = args.json or ROOT / ".cache" / "bench" / (
        datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    bench_suite_report.print_results(results)
    print(f"\nJSON: {path}")
    if args.write_docs:
        args.write_docs.write_text(bench_suite_docs.markdown(results))
        print(f"docs: {args.write_docs}")
    return 1 if results.get("failed") else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: short phases, concurrency 1 and 16, 50 streams")
    parser.add_argument("--seconds", type=float, default=None,
                        help="measured seconds per phase (default 2, quick 0.5)")
    parser.add_argument("--streams", type=int, default=None,
                        help="slow streams for the capacity part (default 2000, quick 50)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--write-docs", type=Path, nargs="?", const=DOCS, default=None,
                        metavar="PATH", help=f"write the benchmarks page from this run "
                        f"(default path {DOCS.relative_to(ROOT)})")
    parser.add_argument("--redis-url", default=None,
                        help="a Redis database the run may empty (default: one claimed)")
    parser.add_argument("--only", type=lambda text: tuple(text.split(",")), default=PARTS,
                        help="comma-separated parts: " + ",".join(PARTS))
    args = parser.parse_args()
    unknown = set(args.only) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; known: {','.join(PARTS)}")
    if args.seconds is None:
        args.seconds = 0.5 if args.quick else 2.0
    if args.streams is None:
        args.streams = 50 if args.quick else 2000
    args.levels = (1, 16) if args.quick else bench_suite_chat.CONCURRENCY
    args.capacity_seconds = 5.0 if args.quick else 60.0
    return args


def single_process(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The idle RSS of a fresh `grok2api run`, the chat rows (simulator-direct and
    `grok2api run`, with that gateway's RSS once its accounts were added), then the
    capacity of fresh `grok2api run` processes, all on the same simulator."""
    work.mkdir(parents=True)
    found: dict[str, Any] = {}
    sim = start_simulator(ACCOUNTS, str(work))
    processes: list[subprocess.Popen[bytes]] = [sim]
    try:
        if "idle" in args.only:
            gateway = started_gateway(sim, work / "idle", processes, accounts=0)
            found["idle"] = {"rss_mb": settled_rss(gateway.pid), "target_mb": IDLE_TARGET_MB,
                             "settled_seconds": SETTLE_SECONDS}
            stop(gateway)
            # Started again on the same DATA_DIR, as every start after the first is: the
            # store needs no migration, so Alembic is never imported (see the README).
            gateway = start_gateway(sim, 0, str(work / "idle"), "uvloop", "grok")
            processes.append(gateway)
            found["idle"]["restart_rss_mb"] = settled_rss(gateway.pid)
            stop(gateway)
        if "chat" in args.only:
            gateway = started_gateway(sim, work / "chat", processes)
            found.setdefault("idle", {})["with_accounts_rss_mb"] = settled_rss(gateway.pid)
            found["chat"] = asyncio.run(bench_suite_chat.measure(
                deployment="single-process", direct=rest_direct(sim),
                through=bench_suite_chat.gateway_target(port=gateway.port, pid=gateway.pid),
                gateway_pids={"gateway": gateway.pid}, other_pids={"simulator": sim.pid},
                levels=args.levels, seconds=args.seconds))
            stop(gateway)
        if "capacity" in args.only:
            found["capacity"] = [capacity(sim, work / f"capacity-{protocol}", processes,
                                          protocol=protocol, args=args)
                                 for protocol in CAPACITY_PROTOCOLS]
    finally:
        stop(*reversed(processes))
    return found


def capacity(sim: Any, work: Path, processes: list[subprocess.Popen[bytes]], *,
             protocol: str, args: argparse.Namespace) -> dict[str, Any]:
    """The slow streams a fresh `grok2api run` speaking ``protocol`` upstream holds."""
    from grok_sim.testing import SimHandle

    gateway = started_gateway(sim, work, processes, protocol=protocol)
    handle = SimHandle(f"http://127.0.0.1:{sim.port}")
    usual = handle.set_options()["tokens_per_reply"]
    try:
        handle.set_options(tokens_per_reply=bench_suite_capacity.TOKENS_PER_REPLY)
        handle.set_fault("slow-tokens", delay_ms=bench_suite_capacity.TOKEN_DELAY_MS)
        found = asyncio.run(bench_suite_capacity.measure(
            port=gateway.port, pid=gateway.pid, streams=args.streams,
            seconds=args.capacity_seconds))
    finally:
        handle.clear_faults()
        handle.set_options(tokens_per_reply=usual)
        handle.close()
    # Its slowed upstream streams would hold a graceful stop for its whole shutdown
    # timeout; nothing of it is measured any more.
    gateway.kill()
    # The connection cap has been changing on main: say which code held these streams.
    return found | {"chat_protocol": protocol, "default_protocol": protocol == DEFAULT_PROTOCOL,
                    "commit": bench_suite_report.commit(ROOT)}


def started_gateway(sim: Any, work: Path, processes: list[subprocess.Popen[bytes]], *,
                    accounts: int = ACCOUNTS, protocol: str = "rest") -> Any:
    """`grok2api run` in front of ``sim`` with ``accounts`` of its accounts added."""
    work.mkdir(parents=True)
    gateway = start_gateway(sim, accounts, str(work), "uvloop", "grok", protocol=protocol)
    processes.append(gateway)
    return gateway


def settled_rss(pid: int) -> float:
    time.sleep(SETTLE_SECONDS)
    return round(bench_suite_chat.rss_mb(pid), 1)


def pool(args: argparse.Namespace, url: str) -> list[dict[str, Any]]:
    import bench_pool

    options = argparse.Namespace(seconds=args.seconds, concurrency=32,
                                 accounts=20 if args.quick else 200, redis=url)
    return bench_pool.run_scenarios(options, short=True)


def media(args: argparse.Namespace, url: str, work: Path) -> dict[str, Any]:
    import bench_media

    options = argparse.Namespace(seconds=args.seconds, rounds=1, redis_url=url, memory=False)
    rows = asyncio.run(bench_media.overhead(options, work / "overhead"))
    split = asyncio.run(bench_media.split_services(options, work / "split"))
    return {"overhead": bench_media.summarise(rows), **split}


@contextlib.contextmanager
def redis_url(given: str | None) -> Iterator[str]:
    """``given``, or a database claimed for the run the way the tests claim theirs (so a run
    never empties a database a test is using), emptied after."""
    if given:
        yield given
        return
    from grok2api_cluster.redis_claims import claimed_database

    with claimed_database() as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
