"""Gateway benchmark: the chat API through the gateway vs straight to the simulator.

    uv run python scripts/bench_gateway.py [--seconds 3] [--rounds 3] [--json out.json]

Starts the simulator and `grok2api run` (the single-process mode as a user starts it) as
two separate processes on loopback, then drives both from this process with a minimal
keep-alive HTTP/1.1 client, at concurrency 1, 16 and 64, streaming and not. For each
phase it reports requests/s, p50/p99 latency, time to first token (streaming) and CPU
per request of the gateway process and of the simulator (from /proc), as the median of
``--rounds`` interleaved rounds. Bounded: each phase runs ``--seconds`` after a short
warm-up; everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
CONCURRENCY = (1, 16, 64)
SIM_BODY = {  # what grok_web sends for a one-line prompt (see grok_web.chat.build_body)
    "deviceEnvInfo": {"darkModeEnabled": False, "devicePixelRatio": 2, "screenWidth": 2056,
                      "screenHeight": 1329, "viewportWidth": 2056, "viewportHeight": 1083},
    "disableMemory": True, "disableSearch": False, "disableSelfHarmShortCircuit": False,
    "disableTextFollowUps": False, "enableImageGeneration": True, "enableImageStreaming": True,
    "enableSideBySide": True, "fileAttachments": [], "forceConcise": False,
    "forceSideBySide": False, "imageAttachments": [], "imageGenerationCount": 2,
    "isAsyncChat": False, "message": "Hello there", "modeId": "auto",
    "responseMetadata": {}, "returnImageBytes": False, "returnRawGrokInXaiRequest": False,
    "sendFinalMetadata": True, "temporary": True, "toolOverrides": {}, "collectionIds": [],
    "connectors": [], "searchAllConnectors": False,
}
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    port: int
    pid: int
    path: str
    body: bytes
    headers: tuple[str, ...]
    first_token: bytes


@dataclasses.dataclass(kw_only=True)
class Phase:
    target: str
    stream: bool
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    ttfts: list[float]
    cpu_seconds: dict[str, float]

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies) or [0.0]
        ttft = sorted(self.ttfts) or [0.0]
        return {
            "target": self.target, "stream": self.stream, "c": self.concurrency,
            "requests": self.requests, "errors": self.errors,
            "rps": round(self.requests / self.seconds, 1),
            "p50_ms": round(_pct(lat, 50) * 1000, 2), "p99_ms": round(_pct(lat, 99) * 1000, 2),
            "ttft_p50_ms": round(_pct(ttft, 50) * 1000, 2) if self.ttfts else None,
            "cpu_ms_per_req": {k: round(v * 1000 / max(self.requests, 1), 3)
                               for k, v in self.cpu_seconds.items()},
        }


def _pct(values: Sequence[float], pct: float) -> float:
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))
    return values[index]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def one_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      request: bytes, first_token: bytes) -> tuple[int, float, float]:
    """Send one request on a kept-alive connection; (status, ttft, latency) in seconds."""
    started = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    ttft = 0.0
    if b"transfer-encoding: chunked" in lowered:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunk = await reader.readexactly(size + 2)
            if not ttft and first_token in chunk:
                ttft = time.perf_counter() - started
    else:
        length = int(lowered.split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    return status, ttft, time.perf_counter() - started


async def worker(target: Target, request: bytes, deadline: float, phase: Phase,
                 warmup_until: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    try:
        while time.perf_counter() < deadline:
            status, ttft, latency = await one_request(reader, writer, request,
                                                      target.first_token)
            if time.perf_counter() < warmup_until:
                continue
            if status != 200:
                phase.errors += 1
                continue
            phase.requests += 1
            phase.latencies.append(latency)
            if ttft:
                phase.ttfts.append(ttft)
    finally:
        writer.close()


async def run_phase(target: Target, *, stream: bool, concurrency: int, seconds: float,
                    pids: dict[str, int]) -> Phase:
    body = target.body
    if target.name == "gateway":
        body = json.dumps({"model": "grok-4", "stream": stream,
                           "messages": [{"role": "user", "content": "Hello there"}]}).encode()
    request = (
        f"POST {target.path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{h}\r\n" for h in target.headers) + "\r\n"
    ).encode() + body
    phase = Phase(target=target.name, stream=stream, concurrency=concurrency, requests=0,
                  errors=0, seconds=seconds, latencies=[], ttfts=[], cpu_seconds={})
    warmup = min(1.0, seconds / 3)
    start = time.perf_counter()
    warmup_until = start + warmup
    tasks = [asyncio.create_task(worker(target, request, warmup_until + seconds, phase,
                                        warmup_until)) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, warmup_until - time.perf_counter()))
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - warmup_until
    phase.cpu_seconds = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    return phase


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process exited early rc={process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise SystemExit(f"port {port} never opened")


async def serve_gateway(args: argparse.Namespace) -> None:
    """The `--upstream canned` process: the gateway app wired by hand around an in-process
    pool and a canned upstream client, to measure the gateway without the Grok web client."""
    import uvicorn
    from gateway.app import create_app
    from grok2api_poolclient.leases import Tier
    from grok2api_settings import Settings
    from grok2api_settings.live import LiveSettings
    from grok2api_storage import load_cipher, open_store
    from grok_web.client import GrokClient
    from grok_web.options import ClientOptions
    from token_pool.hot.memory import MemoryHotState
    from token_pool.service import PoolService
    from token_pool.usage import GrokUsageReader

    live = LiveSettings(Settings.model_validate({
        "data_dir": args.data_dir,
        "network": {"base_url": args.sim_url, "assets_url": args.sim_url},
        "token": {"max_inflight_per_account": 64},
        "log": {"level": "WARNING"},
    }))
    store = await open_store(live.current, cipher=load_cipher(live.current, allow_generate=True))
    await store.migrate()
    grok = GrokClient(options=ClientOptions.from_settings(live.current))
    pool = PoolService(settings=lambda: live.current, repo=store.accounts,
                       hot=MemoryHotState(), reader=GrokUsageReader(grok))
    await pool.start(background=False)
    for index in range(args.accounts):
        await pool.upsert_account(credential=f"sso-bench-{index}", tier=Tier.SUPER)
    async for _ in pool.refresh_usage(all_accounts=True):
        pass
    upstream: Any = grok if args.upstream == "grok" else CannedGrok()
    app = create_app(settings=live, pool=pool, grok=upstream, client_keys=store.client_keys)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning",
                            access_log=False)
    gc.collect()
    gc.freeze()  # as `grok2api run` does once started (see grok2api_cli.runtime)
    await uvicorn.Server(config).serve()


class CannedGrok:
    """An upstream client answering at once with a simulator-sized reply, no network: with
    ``--upstream canned`` the gateway's CPU per request excludes the Grok web client."""

    async def chat_batches(self, *, credential: str, request: Any) -> Any:
        from grok_web import events

        words = [" word"] * 12
        yield [events.ConversationStarted(conversation_id="c")]
        for word in words:
            yield [events.TextDelta(text=word)]
        yield [events.Final(response_id="r", message="".join(words))]

    async def upload_file(self, **_: Any) -> Any:
        raise RuntimeError("the canned upstream takes no attachments")


def start_processes(
    accounts: int, data_dir: str, loop: str, upstream: str, *, wrapper: Sequence[str] = (),
    startup_timeout: float = 60.0,
) -> tuple[subprocess.Popen[bytes], ...]:
    """The simulator and the gateway; ``wrapper`` prefixes the `grok2api run` command (a
    profiler, say), which may then need a longer ``startup_timeout``."""
    sim_port, gw_port = free_port(), free_port()
    accounts_file = Path(data_dir) / "accounts.json"
    accounts_file.write_text(json.dumps([
        {"credential": f"sso-bench-{i}", "tier": "super",
         "quotas": {mode: 10_000_000 for mode in ("auto", "fast", "expert", "heavy")}}
        for i in range(accounts)
    ]))
    sim = subprocess.Popen([sys.executable, "-m", "grok_sim", "serve", "--port", str(sim_port),
                            "--accounts", str(accounts_file)], stdout=subprocess.DEVNULL)
    wait_port(sim_port, sim)
    sim_url = f"http://127.0.0.1:{sim_port}"
    if upstream == "grok":
        gateway = start_single_process(gw_port, sim_url, accounts, data_dir,
                                       wrapper=wrapper, startup_timeout=startup_timeout)
    else:
        gateway = subprocess.Popen([
            sys.executable, __file__, "serve-gateway", "--port", str(gw_port), "--sim-url",
            sim_url, "--accounts", str(accounts), "--data-dir", data_dir,
            "--loop", loop, "--upstream", upstream,
        ])
        wait_port(gw_port, gateway)
    sim.port, gateway.port = sim_port, gw_port  # type: ignore[attr-defined]
    return sim, gateway


def start_single_process(
    port: int, sim_url: str, accounts: int, data_dir: str, *, wrapper: Sequence[str] = (),
    startup_timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """`grok2api run` exactly as a user starts it (default settings but the upstream URLs and
    a per-account concurrency cap the load needs), with the benchmark accounts added and
    their quotas read from the simulator through the pool's own gRPC API."""
    pool_addr = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ, "DATA_DIR": data_dir, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port),
        "TOKEN_POOL_ADDR": pool_addr, "LOG_FILE_ENABLED": "false",
        "GROK2API_NETWORK__BASE_URL": sim_url, "GROK2API_NETWORK__ASSETS_URL": sim_url,
        "GROK2API_NETWORK__ACCOUNTS_URL": sim_url, "GROK2API_TOKEN__MAX_INFLIGHT_PER_ACCOUNT": "64",
    }
    gateway = subprocess.Popen([*wrapper, sys.executable, "-m", "grok2api_cli.main", "run"],
                               env=env, stdout=subprocess.DEVNULL)
    wait_port(port, gateway, timeout=startup_timeout)
    asyncio.run(add_accounts(pool_addr, accounts))
    return gateway


async def add_accounts(pool_addr: str, accounts: int) -> None:
    from grok2api_poolclient.grpc_transport import GrpcPoolClient
    from grok2api_poolclient.leases import Tier

    async with GrpcPoolClient(pool_addr) as pool:
        for index in range(accounts):
            await pool.upsert_account(credential=f"sso-bench-{index}", tier=Tier.SUPER)
        async for _ in pool.refresh_usage(all_accounts=True):
            pass


async def drive(args: argparse.Namespace, sim: Any, gateway: Any) -> list[dict[str, Any]]:
    pids = {"gateway": gateway.pid, "simulator": sim.pid}
    direct = Target(name="simulator", port=sim.port, pid=sim.pid,
                    path="/rest/app-chat/conversations/new", body=json.dumps(SIM_BODY).encode(),
                    headers=(
                        "Cookie: sso=sso-bench-0; sso-rw=sso-bench-0",
                        f"Origin: http://127.0.0.1:{sim.port}",
                        f"Referer: http://127.0.0.1:{sim.port}/",
                        f"User-Agent: {USER_AGENT}",
                        "x-xai-request-id: 8fa9a3d3-24c4-4eb8-869b-cb387789c868",
                        "x-statsig-id: ZTpUeXBlRXJyb3I6IENhbm5vdCByZWFkIHByb3BlcnRpZXMgb2Yg"
                        "dW5kZWZpbmVkIChyZWFkaW5nICdjaGlsZE5vZGVzJyk=",
                    ),
                    first_token=b'"token":"')
    through = Target(name="gateway", port=gateway.port, pid=gateway.pid,
                     path="/v1/chat/completions", body=b"", headers=(),
                     first_token=b'"content":"')
    rows = []
    for round_ in range(1, args.rounds + 1):
        for stream in (True, False):
            for concurrency in CONCURRENCY:
                for target in (direct, through):
                    if target is direct and not stream:
                        continue  # the upstream always streams; one direct row per concurrency
                    phase = await run_phase(target, stream=stream, concurrency=concurrency,
                                            seconds=args.seconds, pids=pids)
                    rows.append({"round": round_, **phase.row()})
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def medians(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per phase: the median of each figure over the rounds (this machine's speed
    drifts by tens of percent within minutes; a median of interleaved rounds resists it)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["target"], row["stream"], row["c"]), []).append(row)
    merged = []
    for (target, stream, concurrency), group in groups.items():
        merged.append({
            "target": target, "stream": stream, "c": concurrency, "rounds": len(group),
            "requests": sum(r["requests"] for r in group),
            "errors": sum(r["errors"] for r in group),
            **{key: _median([r[key] for r in group])
               for key in ("rps", "p50_ms", "p99_ms", "ttft_p50_ms")},
            "cpu_ms_per_req": {name: _median([r["cpu_ms_per_req"][name] for r in group])
                               for name in group[0]["cpu_ms_per_req"]},
        })
    return merged


def _median(values: list[Any]) -> Any:
    return None if None in values else round(statistics.median(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve-gateway")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--sim-url", required=True)
    serve.add_argument("--accounts", type=int, default=16)
    serve.add_argument("--data-dir", required=True)
    serve.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    serve.add_argument("--upstream", choices=("grok", "canned"), default="grok")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="repeat every phase this many times; the table shows medians")
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop of the gateway process")
    parser.add_argument("--upstream", choices=("grok", "canned"), default="grok",
                        help="canned: the gateway answers without calling the simulator "
                        "(measures the gateway without the Grok web client)")
    args = parser.parse_args()
    if args.command == "serve-gateway":
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(serve_gateway(args))
        else:
            asyncio.run(serve_gateway(args))
        return
    with tempfile.TemporaryDirectory() as data_dir:
        sim, gateway = start_processes(args.accounts, data_dir, args.loop, args.upstream)
        try:
            rows = asyncio.run(drive(args, sim, gateway))
        finally:
            for process in (gateway, sim):
                process.terminate()
                process.wait(10)
    table = medians(rows)
    print_table(table)
    if args.json:
        args.json.write_text(json.dumps({"rounds": rows, "medians": table}, indent=2))


def print_table(rows: list[dict[str, Any]]) -> None:
    rounds = rows[0].get("rounds", 1) if rows else 1
    print(f"\nmedians of {rounds} rounds" if rounds > 1 else "")
    print(f"{'target':10} {'stream':6} {'c':>3} {'req/s':>8} {'p50ms':>7} {'p99ms':>8} "
          f"{'ttft50':>7} {'cpu ms/req (gw | sim)':>22}")
    for row in rows:
        cpu = row["cpu_ms_per_req"]
        ttft = "-" if row["ttft_p50_ms"] is None else f"{row['ttft_p50_ms']:.2f}"
        print(f"{row['target']:10} {row['stream']!s:6} {row['c']:>3} {row['rps']:>8} "
              f"{row['p50_ms']:>7} {row['p99_ms']:>8} {ttft:>7} "
              f"{cpu['gateway']:>10} | {cpu['simulator']:<8} errors={row['errors']}")
    by_key = {(r["target"], r["stream"], r["c"]): r for r in rows}
    print()
    for stream in (True, False):
        for concurrency in CONCURRENCY:
            direct, through = by_key.get(("simulator", True, concurrency)), by_key.get(
                ("gateway", stream, concurrency))
            if direct and through:
                ratio = through["rps"] / max(direct["rps"], 0.1)
                added = through["p50_ms"] - direct["p50_ms"]
                line = (f"stream={stream!s:5} c={concurrency:<3} gateway/direct throughput="
                        f"{ratio:.2f}  added p50={added:.2f} ms")
                if through["ttft_p50_ms"] is not None:
                    added_ttft = through["ttft_p50_ms"] - direct["ttft_p50_ms"]
                    line += f"  added ttft50={added_ttft:.2f} ms"
                print(line)


if __name__ == "__main__":
    main()
