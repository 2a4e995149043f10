"""Media benchmark: image jobs through grok2api vs the same upstream exchange made directly.

    uv run python scripts/bench_media.py [--seconds 4] [--rounds 3] [--json out.json]
        [--before CHECKOUT] [--pin]

Three measurements, everything on 127.0.0.1 against the simulator with no artificial delay:

1. **Overhead** (`grok2api run`, the single-process mode): one-image requests
   (`POST /v1/images/generations`, n=1, url) against the same Imagine exchange made directly
   from this process with `grok_web` (what a media worker does upstream for one image), at
   concurrency 1 and 16, in interleaved rounds; p50 and p99 latency of each and what
   grok2api adds (ms at concurrency 1, % at 16). ``--before CHECKOUT`` adds a third path in
   every round: ``grok2api run`` from the workspace packages of another checkout of the
   repository (``git worktree add /tmp/before <commit>``; its ``*/src`` directories go first
   on ``PYTHONPATH``), so a change is measured against the code before it side by side.
   ``--pin`` measures every round twice, interleaved: with every process free to run on
   every CPU (``shared``, as without it), and ``pinned`` as a deployment runs, where
   grok2api shares its CPU with neither grok.com nor its clients: this load generator (the
   direct path's client too) and the simulator on CPU 0, grok2api (every thread and child)
   on CPU 1. Both paths then get the same CPU for client and simulator.
2. **Throughput** (the split services sharing the real Redis: token-pool, gateway, media
   workers): image jobs per second through one media worker, then through two.
3. **Memory**: one media worker (split target) holding 200 video generations at once (the
   simulator slowed with its `slow-tokens` fault so they overlap): the worker's peak RSS.

Redis must be running at 127.0.0.1:6379 (database 13, or ``--redis-url``'s, is used and
emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import cpu_placement
from bench_gateway import add_accounts, free_port, wait_port
from bench_gateway_procs import stop
from cryptography.fernet import Fernet
from curl_cffi.requests import AsyncSession, Response

ACCOUNTS = 32
REDIS_URL = "redis://127.0.0.1:6379/13"
ENCRYPTION_KEY = Fernet.generate_key().decode()  # one per run: the split services share it
IMAGE_BODY = {"model": "grok-imagine-1.0", "prompt": "a lighthouse at dusk", "n": 1}


class Http:
    """A keep-alive HTTP client bound to one base URL (curl_cffi, as the project uses)."""

    def __init__(self, base_url: str, *, timeout: float = 300) -> None:
        self._base = base_url
        self._session: AsyncSession[Response] = AsyncSession(timeout=timeout, max_clients=256)

    async def post(self, path: str, *, json: Any) -> Response:
        return await self._session.post(self._base + path, json=json)

    async def get(self, path: str) -> Response:
        return await self._session.get(self._base + path)

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._session.close()


def _pct(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))] if ordered else float("nan")


def start_simulator(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    accounts = data_dir / "accounts.json"
    accounts.write_text(json.dumps([
        {"credential": f"sso-bench-{i}", "tier": "super",
         "quotas": {mode: 10_000_000 for mode in ("auto", "fast", "expert", "heavy")}}
        for i in range(ACCOUNTS)
    ]))
    sim = subprocess.Popen([sys.executable, "-m", "grok_sim", "serve", "--port", str(port),
                            "--accounts", str(accounts)], stdout=subprocess.DEVNULL)
    wait_port(port, sim)
    return sim, f"http://127.0.0.1:{port}"


def service_env(data_dir: Path, sim_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.update(
        DATA_DIR=str(data_dir), SERVER_HOST="127.0.0.1", LOG_FILE_ENABLED="false",
        LOG_LEVEL="WARNING", GROK2API_NETWORK__BASE_URL=sim_url,
        GROK2API_NETWORK__ASSETS_URL=sim_url, GROK2API_NETWORK__ACCOUNTS_URL=sim_url,
        GROK2API_TOKEN__MAX_INFLIGHT_PER_ACCOUNT="64", GROK2API_TOKEN__AUTO_REFRESH="false",
        GROK2API_PERFORMANCE__MEDIA_MAX_CONCURRENT="200",
        GROK2API_SECURITY__ENCRYPTION_KEY=ENCRYPTION_KEY,
        **extra,
    )
    return env


def start(target: str, env: dict[str, str], *,
          wrapper: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """``grok2api run --target <target>``, its log in ``$DATA_DIR/<target>-<port>.log``;
    ``wrapper``: a command that runs it (valgrind's, for ``count_media.py``)."""
    command = [*wrapper, sys.executable, "-m", "grok2api_cli.main", "run"]
    if target != "all":
        command += ["--target", target]
    log_path = Path(env["DATA_DIR"]) / f"{target}-{env.get('SERVER_PORT', '')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)


# -- the two ways to get one image ---------------------------------------------------------


def direct_image(sim_url: str) -> Callable[[int], Awaitable[None]]:
    """The upstream exchange of a one-image job, made with grok_web from this process."""
    from grok2api_settings import Settings
    from grok_web import events as ev
    from grok_web.client import GrokClient
    from grok_web.imagine import ImagineRequest
    from grok_web.options import ClientOptions

    settings = Settings.model_validate({"network": {"base_url": sim_url, "assets_url": sim_url}})
    client = GrokClient(options=ClientOptions.from_settings(settings))

    async def once(index: int) -> None:
        request = ImagineRequest(prompt=IMAGE_BODY["prompt"], count=1)  # type: ignore[arg-type]
        finals = 0
        credential = f"sso-bench-{index % ACCOUNTS}"
        async for event in client.imagine(credential=credential, request=request):
            finals += isinstance(event, ev.ImageFinal)
        assert finals == 1

    return once


def through_gateway(http: Http) -> Callable[[int], Awaitable[None]]:
    async def once(_index: int) -> None:
        response = await http.post("/v1/images/generations", json=IMAGE_BODY)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code} {response.text[:200]}")
        assert len(response.json()["data"]) == 1

    return once


async def phase(call: Callable[[int], Awaitable[None]], *, concurrency: int,
                seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await call(next(counter))
            latencies.append(time.perf_counter() - started)

    began = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.monotonic() - began
    return {"requests": len(latencies), "per_second": len(latencies) / elapsed,
            "p50_ms": _pct(latencies, 0.5) * 1000, "p99_ms": _pct(latencies, 0.99) * 1000}


def source_path(checkout: Path) -> str:
    """``PYTHONPATH`` naming the workspace packages' sources in ``checkout`` (the ones this
    virtualenv installs from its own checkout), so that they are imported from there."""
    here = Path(__file__).resolve().parent.parent
    roots = sorted({p.parent.parent.relative_to(here)
                    for p in here.glob("*/*/src/*/__init__.py")} |
                   {p.parent.parent.relative_to(here) for p in here.glob("*/src/*/__init__.py")})
    return os.pathsep.join(str(checkout.resolve() / root) for root in roots)


def placements(*, pin: bool, simulator: int,
               gateways: Sequence[int]) -> dict[str, Callable[[], None]]:
    """How the processes share the CPUs in a round: ``shared`` (any process on any CPU)
    and, with ``pin``, ``pinned`` (see the module docstring)."""
    every_cpu = os.sched_getaffinity(0)
    if pin and not {0, 1} <= every_cpu:
        raise SystemExit(f"--pin needs CPUs 0 and 1; this process may use {sorted(every_cpu)}")
    here = (os.getpid(), simulator)

    def shared() -> None:
        cpu_placement.pin([*here, *gateways], every_cpu)

    def pinned() -> None:
        cpu_placement.pin(here, {0})
        cpu_placement.pin(gateways, {1})

    return {"shared": shared, "pinned": pinned} if pin else {"shared": shared}


async def overhead(args: argparse.Namespace, data_dir: Path) -> list[dict[str, Any]]:
    sim, sim_url = start_simulator(data_dir)
    gateways: list[tuple[str, subprocess.Popen[bytes], int, str]] = []
    variants = [("grok2api", None)]
    before = getattr(args, "before", None)  # bench_suite.py's options have none
    pin = getattr(args, "pin", False)
    if before is not None:
        variants.append(("before", source_path(before)))
    try:
        for name, pythonpath in variants:
            port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
            extra = {"PYTHONPATH": pythonpath} if pythonpath else {}
            env = service_env(data_dir / name, sim_url, SERVER_PORT=str(port),
                              TOKEN_POOL_ADDR=pool_addr, **extra)
            gateways.append((name, start("all", env), port, pool_addr))
        for _, process, port, pool_addr in gateways:
            wait_port(port, process)
            await add_accounts(pool_addr, ACCOUNTS)
        placed = placements(pin=pin, simulator=sim.pid,
                            gateways=[process.pid for _, process, _, _ in gateways])
        async with contextlib.AsyncExitStack() as stack:
            paths = [("direct", direct_image(sim_url))]
            for name, _, port, _ in gateways:
                http = await stack.enter_async_context(Http(f"http://127.0.0.1:{port}"))
                paths.append((name, through_gateway(http)))
            for _, call in paths:  # warm-up: connections, caches, first imports
                await phase(call, concurrency=4, seconds=1.0)
            return await measured_rounds(paths, placed, rounds=args.rounds,
                                         seconds=args.seconds)
    finally:
        stop(*(process for _, process, _, _ in gateways), sim)


async def measured_rounds(paths: Sequence[tuple[str, Callable[[int], Awaitable[None]]]],
                          placed: dict[str, Callable[[], None]], *, rounds: int,
                          seconds: float) -> list[dict[str, Any]]:
    """Every path at concurrency 1 then 16, in each placement, ``rounds`` times over. Each
    round starts the paths one further along, so that none is always measured first or
    right after the same other path."""
    rows: list[dict[str, Any]] = []
    try:
        for round_ in range(1, rounds + 1):
            shift = (round_ - 1) % len(paths)
            in_turn = [*paths[shift:], *paths[:shift]]
            for placement, place in placed.items():
                place()
                for concurrency in (1, 16):
                    for name, call in in_turn:
                        row = await phase(call, concurrency=concurrency, seconds=seconds)
                        rows.append({"round": round_, "placement": placement, "path": name,
                                     "concurrency": concurrency, **row})
    finally:
        placed["shared"]()  # what this process starts next (the split part) inherits it
    return rows


# -- throughput through 1 and 2 workers, and one worker's memory ---------------------------


async def split_services(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    import redis.asyncio as aioredis

    flush = aioredis.from_url(args.redis_url)
    await flush.flushdb()
    sim, sim_url = start_simulator(data_dir)
    pool_addr = f"127.0.0.1:{free_port()}"
    base = service_env(data_dir / "split", sim_url, REDIS_URL=args.redis_url,
                       TOKEN_POOL_ADDR=pool_addr)
    (data_dir / "split").mkdir(parents=True, exist_ok=True)
    processes = [start("token-pool", {**base, "SERVER_PORT": str(free_port())})]
    results: dict[str, Any] = {}
    try:
        await add_accounts_when_up(pool_addr, processes[0])
        port = free_port()
        processes.append(start("gateway", {**base, "SERVER_PORT": str(port)}))
        wait_port(port, processes[-1])
        async with Http(f"http://127.0.0.1:{port}") as http:
            through = through_gateway(http)
            for workers in (1, 2):
                probe = free_port()
                processes.append(start("media-worker", {**base, "SERVER_PORT": str(probe)}))
                wait_port(probe, processes[-1])
                await phase(through, concurrency=8, seconds=1.0)  # warm-up
                runs = [await phase(through, concurrency=32, seconds=args.seconds)
                        for _ in range(args.rounds)]
                results[f"jobs_per_second_{workers}_worker"] = statistics.median(
                    run["per_second"] for run in runs)
            if args.memory:
                results["memory"] = await worker_memory(http, processes, base)
        return results
    finally:
        stop(*reversed(processes), sim)
        await flush.flushdb()
        await flush.aclose()


async def add_accounts_when_up(pool_addr: str, pool: subprocess.Popen[bytes]) -> None:
    from grok2api_poolclient.errors import PoolUnavailable

    deadline = time.monotonic() + 60
    while True:
        try:
            await add_accounts(pool_addr, ACCOUNTS)
            return
        except PoolUnavailable:
            if pool.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def worker_memory(http: Http, processes: list[subprocess.Popen[bytes]],
                        base: dict[str, str]) -> dict[str, Any]:
    """200 slow video generations on one worker: its peak RSS while it holds them, and how
    many it held at once (its ``grok2api_media_jobs_in_flight`` gauge)."""
    for worker in processes[2:]:
        stop(worker)
    del processes[2:]
    sim_url = base["GROK2API_NETWORK__BASE_URL"]
    async with Http(sim_url) as sim:
        # Video frames a second apart: each generation stays open for several seconds.
        await sim.post("/_sim/faults", json={"kind": "slow-tokens", "params": {"delay_ms": 1000}})
    probe = free_port()
    worker = start("media-worker", {**base, "SERVER_PORT": str(probe)})
    processes.append(worker)
    wait_port(probe, worker)
    idle = rss_mb(worker.pid)
    body = {"model": "grok-imagine-1.0-video", "prompt": "waves", "seconds": "6"}
    created = await asyncio.gather(*(http.post("/v1/videos", json=body) for _ in range(200)))
    refused = [r.text for r in created if r.status_code != 200]
    if refused:
        raise RuntimeError(f"{len(refused)} videos refused, e.g. {refused[0][:300]}")
    ids = [response.json()["id"] for response in created]
    peak, held = idle, 0
    deadline = time.monotonic() + 180
    async with Http(f"http://127.0.0.1:{probe}") as metrics:
        while time.monotonic() < deadline:
            peak = max(peak, rss_mb(worker.pid))
            running = in_flight((await metrics.get("/metrics")).text)
            held = max(held, running)
            if held and not running:  # every job was claimed at once: none left when it is 0
                break
            await asyncio.sleep(0.25)
    finals = [(await http.get(f"/v1/videos/{i}")).json() for i in ids]
    failures = sorted({str((v.get("error") or {}).get("message")) for v in finals
                       if v["status"] != "completed"})
    return {"idle_rss_mb": idle, "peak_rss_mb": peak, "videos": len(ids), "held_at_once": held,
            "completed": len(finals) - sum(v["status"] != "completed" for v in finals),
            "failures": failures}


def in_flight(metrics_text: str) -> int:
    """The jobs the worker runs now: ``grok2api_media_jobs_in_flight`` summed over kinds."""
    return sum(
        int(float(line.split()[-1]))
        for line in metrics_text.splitlines()
        if line.startswith("grok2api_media_jobs_in_flight{")
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summarise(rows: list[dict[str, Any]], placement: str = "shared") -> list[dict[str, Any]]:
    """Medians over the rounds of one ``placement`` per concurrency and path, and what each
    gateway adds at p50 and p99 (``added_*`` for grok2api, ``before_added_*`` for
    ``--before``'s)."""
    table = []
    rows = [r for r in rows if r.get("placement", "shared") == placement]
    present = {r["path"] for r in rows}
    for concurrency in (1, 16):
        cell = {}
        for path in ("direct", "grok2api", "before"):
            chosen = [r for r in rows if r["path"] == path and r["concurrency"] == concurrency]
            if path in present:
                cell[path] = {key: statistics.median(r[key] for r in chosen)
                              for key in ("per_second", "p50_ms", "p99_ms")}
        row: dict[str, Any] = {"concurrency": concurrency,
                               **{f"{p}_{k}": v for p, d in cell.items() for k, v in d.items()}}
        for path, prefix in (("grok2api", ""), ("before", "before_")):
            if path in cell:
                for pct in ("p50", "p99"):
                    added = cell[path][f"{pct}_ms"] - cell["direct"][f"{pct}_ms"]
                    row[f"{prefix}added_{pct}_ms"] = added
                    row[f"{prefix}added_{pct}_pct"] = 100 * added / cell["direct"][f"{pct}_ms"]
        table.append(row)
    return table


def _added(row: dict[str, Any], prefix: str) -> str:
    return "   ".join(f"{pct} {row[f'{prefix}added_{pct}_ms']:+6.1f} ms "
                      f"({row[f'{prefix}added_{pct}_pct']:+5.1f}%)" for pct in ("p50", "p99"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", choices=("overhead", "split"), help="run one part")
    parser.add_argument("--redis-url", default=REDIS_URL,
                        help="the split services' Redis (its database is emptied)")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also measure `grok2api run` from this checkout's sources, "
                        "side by side (overhead only)")
    parser.add_argument("--pin", action="store_true",
                        help="also measure the overhead with grok2api on a CPU of its own, "
                        "side by side (see the docstring)")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the 200 slow videos of the worker memory measurement")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    split: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        if args.only in (None, "overhead"):
            rows = asyncio.run(overhead(args, Path(tmp) / "overhead"))
            tables = {placement: summarise(rows, placement)
                      for placement in ("shared", "pinned") if any(
                          r["placement"] == placement for r in rows)}
        if args.only in (None, "split"):
            try:
                split = asyncio.run(split_services(args, Path(tmp) / "split"))
            except Exception:
                for log_file in sorted(Path(tmp).glob("**/*.log")):
                    print(f"--- {log_file.name}\n{log_file.read_text()[-3000:]}", file=sys.stderr)
                raise
    print(f"machine: {os.cpu_count()} CPUs; medians of {args.rounds} rounds of {args.seconds:g} s")
    for placement, table in tables.items():
        print(f"one image (n=1, url), {placement} CPUs: p50 / p99 ms, requests/s")
        for row in table:
            print(f"  c={row['concurrency']:<3} direct {row['direct_p50_ms']:7.1f} / "
                  f"{row['direct_p99_ms']:7.1f} ({row['direct_per_second']:6.1f}/s)   grok2api "
                  f"{row['grok2api_p50_ms']:7.1f} / {row['grok2api_p99_ms']:7.1f} "
                  f"({row['grok2api_per_second']:6.1f}/s)   added {_added(row, '')}")
            if "before_p50_ms" in row:
                print(f"        before  {row['before_p50_ms']:7.1f} / "
                      f"{row['before_p99_ms']:7.1f} ({row['before_per_second']:6.1f}/s)   "
                      f"added {_added(row, 'before_')}")
    if args.json:
        args.json.write_text(json.dumps({"overhead": tables.get("shared", []),
                                         "overhead_pinned": tables.get("pinned", []),
                                         "rows": rows, "split": split}, indent=2))
    if not split:
        return
    print(f"image jobs/s through 1 worker: {split['jobs_per_second_1_worker']:.1f}, "
          f"through 2: {split['jobs_per_second_2_worker']:.1f}")
    memory = split.get("memory")
    if memory is None:
        return
    print(f"one worker, {memory['videos']} slow videos, {memory['held_at_once']} held at once: "
          f"RSS idle {memory['idle_rss_mb']:.0f} MB, peak {memory['peak_rss_mb']:.0f} MB; "
          f"{memory['completed']} completed {memory['failures'] or ''}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
