"""Gateway benchmark: the chat API through the gateway vs straight to the simulator, for
each upstream chat generation (``network.chat_protocol``: REST app-chat and mgw WebSocket).

    uv run python scripts/bench_gateway.py [--protocol rest|mgw|both] [--seconds 3]
        [--rounds 3] [--json out.json] [--access none|memory|redis|all]
        [--tracing off|on|both] [--egresses 0,1,4]

Starts the simulator and, per protocol, `grok2api run` (the single-process mode as a user
starts it) as separate processes on loopback, then drives them from this process at
concurrency 1, 16 and 64, streaming and not. The baseline of each protocol is the same
protocol straight to the simulator: REST with a minimal keep-alive HTTP/1.1 client, mgw
with a minimal WebSocket client making the exchange grok_web makes (bench_gateway_mgw.py).
For each phase it reports requests/s, p50/p99 latency, time to first token (streaming)
and CPU per request of the gateway process and of the simulator (from /proc), as the
median of ``--rounds`` interleaved rounds, then the ratios. Bounded: each phase runs
``--seconds`` after a short warm-up; everything stays on 127.0.0.1. The processes are
started by bench_gateway_procs.py.

``--access`` compares the cost of client keys instead (issue #16): every variant is the
hand-wired gateway process (``serve-gateway``, upstream ``--upstream``), differing only in
its access wiring: ``none`` (no client key: an open API, no limits, no usage records: the
"before"), ``memory`` (one client key with every limit set and never reached, the in-process
limit store, records straight into the SQLite store: the single-process mode) and ``redis``
(the same key, limits in the Redis of ``--redis-url`` and records through a Redis list and
its drainer: a split deployment's gateway, under a key prefix of its own, deleted at the
end); ``all`` runs the three side by side, interleaved in every round (the order rotates per
round). There are no simulator-direct rows then; the report gives each variant's
differences from ``none`` in gateway CPU per request and p99, per round, the records the
store holds after each phase against the requests sent, and at the end the records stored
against every request sent.

``--egresses 0,1,4`` compares `grok2api run` gateways whose pools hold that many direct
egresses (issue #20; accounts spread over them, every upstream connection per egress),
interleaved like ``--access``, each against the first count given.

``--tracing both`` compares `grok2api run` with tracing off and on (every span sampled and
exported over OTLP/gRPC to a receiver in this process, ``bench_gateway_tracing.py``),
interleaved like ``--access``, without simulator-direct rows; ``on`` runs only the traced one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_gateway_mgw import USER_AGENT, MgwTurn, user_id
from bench_gateway_procs import (  # noqa: F401 (re-exported for bench_media, count_gateway)
    add_accounts,
    free_port,
    serve_gateway,
    start_gateway,
    start_processes,
    start_simulator,
    wait_port,
)
from bench_gateway_report import (
    CONCURRENCY,
    MAX_ACCESS_CPU_MS,
    print_records,
    print_table,
    print_variants,
)
from bench_gateway_tracing import environment, print_tracing, receiving, tracing_env

CLK_TCK = os.sysconf("SC_CLK_TCK")
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    protocol: str
    port: int
    pid: int
    path: str
    body: bytes
    headers: tuple[str, ...]
    first_token: bytes
    mgw: MgwTurn | None = None  # the direct mgw baseline: one WebSocket turn per request


@dataclasses.dataclass(kw_only=True)
class Phase:
    target: str
    protocol: str
    stream: bool
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    ttfts: list[float]
    cpu_seconds: dict[str, float]
    sent: int = 0  # every answer, warm-up and errors included (each one is a usage record)

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies) or [0.0]
        ttft = sorted(self.ttfts) or [0.0]
        return {
            "protocol": self.protocol, "target": self.target, "stream": self.stream,
            "c": self.concurrency,
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
    if target.mgw is not None:
        turn = target.mgw
        while time.perf_counter() < deadline:
            status, ttft, latency = await turn.run()
            _count(phase, status, ttft, latency, warmup_until)
        return
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    try:
        while time.perf_counter() < deadline:
            status, ttft, latency = await one_request(reader, writer, request,
                                                      target.first_token)
            _count(phase, status, ttft, latency, warmup_until)
    finally:
        writer.close()


def _count(phase: Phase, status: int, ttft: float, latency: float,
           warmup_until: float) -> None:
    phase.sent += 1
    if time.perf_counter() < warmup_until:
        return
    if status != 200:
        phase.errors += 1
        return
    phase.requests += 1
    phase.latencies.append(latency)
    if ttft:
        phase.ttfts.append(ttft)


async def run_phase(target: Target, *, stream: bool, concurrency: int, seconds: float,
                    pids: dict[str, int],
                    clocks: dict[str, Callable[[], float]] | None = None) -> Phase:
    """One phase; CPU seconds of each of ``pids`` (from /proc) and of ``clocks`` (other
    CPU-seconds readers: a Redis server's INFO)."""
    readers = {name: (lambda pid=pid: cpu_seconds(pid)) for name, pid in pids.items()}
    readers.update(clocks or {})
    body = target.body
    if target.name == "gateway":
        body = json.dumps({"model": "grok-4", "stream": stream,
                           "messages": [{"role": "user", "content": "Hello there"}]}).encode()
    request = (
        f"POST {target.path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{h}\r\n" for h in target.headers) + "\r\n"
    ).encode() + body
    phase = Phase(target=target.name, protocol=target.protocol, stream=stream,
                  concurrency=concurrency, requests=0, errors=0,
                  seconds=seconds, latencies=[], ttfts=[], cpu_seconds={})
    warmup = min(1.0, seconds / 3)
    start = time.perf_counter()
    warmup_until = start + warmup
    tasks = [asyncio.create_task(worker(target, request, warmup_until + seconds, phase,
                                        warmup_until)) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, warmup_until - time.perf_counter()))
    before = {name: read() for name, read in readers.items()}
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - warmup_until
    phase.cpu_seconds = {name: read() - before[name] for name, read in readers.items()}
    return phase


def rest_direct(sim: Any) -> Target:
    return Target(name="simulator", protocol="rest", port=sim.port, pid=sim.pid,
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


async def targets(sim: Any, gateways: dict[str, Any], *, direct: bool = True
                  ) -> list[Target]:
    """Per gateway (keyed by protocol, or protocol/access variant): straight to the simulator
    with its protocol (unless not ``direct``), then through the gateway, with its client key
    when it has one."""
    found = []
    for label, gateway in gateways.items():
        protocol = label.split("/")[0]
        if direct and protocol == "rest":
            found.append(rest_direct(sim))
        elif direct:
            turn = MgwTurn(sim.port, await user_id(sim.port))
            found.append(Target(name="simulator", protocol="mgw", port=sim.port, pid=sim.pid,
                                path="", body=b"", headers=(), first_token=b"", mgw=turn))
        key = getattr(gateway, "key", None)
        found.append(Target(name="gateway", protocol=label, port=gateway.port,
                            pid=gateway.pid, path="/v1/chat/completions", body=b"",
                            headers=(f"Authorization: Bearer {key}",) if key else (),
                            first_token=b'"content":"'))
    return found


async def drive(args: argparse.Namespace, sim: Any, gateways: dict[str, Any]
                ) -> list[dict[str, Any]]:
    rows = []
    access = args.access is not None
    variants = access or args.tracing != "off" or args.egresses is not None
    ordered = await targets(sim, gateways, direct=not variants)
    clocks = {"redis": redis_cpu_clock(args.redis_url)} if access else {}
    sent = dict.fromkeys(gateways, 0)
    for round_ in range(1, args.rounds + 1):
        every = ordered
        if variants:  # rotate the variants' order, so none does not always run first
            shift = (round_ - 1) % len(ordered)
            every = ordered[shift:] + ordered[:shift]
        for stream in (True, False):
            for concurrency in CONCURRENCY:
                for target in every:
                    if target.name == "simulator" and not stream:
                        continue  # the upstream always streams; one direct row per concurrency
                    gateway = gateways[target.protocol]
                    pids = {"gateway": gateway.pid, "simulator": sim.pid}
                    phase = await run_phase(target, stream=stream, concurrency=concurrency,
                                            seconds=args.seconds, pids=pids, clocks=clocks)
                    rows.append({"round": round_, **phase.row()})
                    if access and not target.protocol.endswith("/none"):
                        sent[target.protocol] += phase.sent
                        stored = stored_records(gateway.data_dir)
                        rows[-1].update(sent_total=sent[target.protocol], stored=stored,
                                        backlog=sent[target.protocol] - stored)
                    print(json.dumps(rows[-1]), flush=True)
    for label, gateway in gateways.items():
        gateway.sent = sent[label]
    return rows


def stored_records(data_dir: Path) -> int:
    """The usage records in a gateway's SQLite store so far (read-only; WAL lets it write)."""
    from grok2api_storage.urls import SQLITE_FILE_NAME

    path = Path(data_dir) / SQLITE_FILE_NAME
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        return int(db.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0])


def redis_cpu_clock(url: str) -> Callable[[], float]:
    """CPU seconds of the Redis server (INFO cpu; a shared server counts its other clients
    too): what the redis variant moves out of the gateway process."""
    import redis

    client = redis.Redis.from_url(url)

    def read() -> float:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    return read


def medians(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per phase: the median of each figure over the rounds (this machine's speed
    drifts by tens of percent within minutes; a median of interleaved rounds resists it)."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row.get("protocol", "rest"), row["target"], row["stream"], row["c"])
        groups.setdefault(key, []).append(row)
    merged = []
    for (protocol, target, stream, concurrency), group in groups.items():
        merged.append({
            "protocol": protocol, "target": target, "stream": stream, "c": concurrency,
            "rounds": len(group),
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
    serve.add_argument("--protocol", choices=("rest", "mgw"), default="rest")
    serve.add_argument("--access", choices=("none", "memory", "redis"), default="none")
    serve.add_argument("--key-file", default="")
    serve.add_argument("--summary-file", default="")
    serve.add_argument("--redis-url", default="")
    serve.add_argument("--redis-prefix", default="")
    parser.add_argument("--protocol", choices=("rest", "mgw", "both"), default="both",
                        help="the upstream chat generation(s) to measure (network.chat_protocol)")
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
    parser.add_argument("--access", choices=("none", "memory", "redis", "all"),
                        help="compare client-access wirings of the hand-wired gateway (none: "
                        "open API; memory: a key, in-process limits, records into SQLite; "
                        "redis: a key, limits and records through Redis; all: the three); "
                        "unset: the usual gateway vs simulator-direct run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="the Redis of --access redis (keys under a unique prefix, "
                        "deleted at the end)")
    parser.add_argument("--egresses", type=_counts, default=None, metavar="N,N,...",
                        help="`grok2api run` with that many direct egresses in its pool "
                        "(0: none), side by side, e.g. 0,1,4")
    parser.add_argument("--tracing", choices=("off", "on", "both"), default="off",
                        help="both: `grok2api run` with tracing off and on (OTLP to a local "
                        "receiver), side by side; on: only the traced one")
    args = parser.parse_args()
    if args.command == "serve-gateway":
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(serve_gateway(args))
        else:
            asyncio.run(serve_gateway(args))
        return
    protocols = ("rest", "mgw") if args.protocol == "both" else (args.protocol,)
    variants: tuple[str | None, ...] = (None,)
    if args.access is not None:
        variants = ("none", "memory", "redis") if args.access == "all" else (args.access,)
    elif args.egresses is not None:
        variants = tuple(f"egress-{count}" for count in args.egresses)
    elif args.tracing != "off":
        variants = ("tracing-off", "tracing-on") if args.tracing == "both" else ("tracing-on",)
    prefix = f"bench-gateway-{uuid.uuid4().hex[:12]}:"
    records: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as data_dir, receiving() as (receiver, otlp_port):
        sim = start_simulator(args.accounts, data_dir)
        gateways: dict[str, Any] = {}
        try:
            for protocol in protocols:
                for variant in variants:
                    label = protocol if variant is None else f"{protocol}/{variant}"
                    traced = tracing_env(otlp_port) if variant == "tracing-on" else {}
                    own = data_dir  # a tracing variant is a `grok2api run` of its own
                    if args.access is None and variant is not None:
                        own = str(Path(data_dir) / variant)
                        Path(own).mkdir(exist_ok=True)
                    with environment(traced):
                        gateways[label] = start_gateway(
                            sim, args.accounts, own, args.loop, args.upstream,
                            protocol=protocol, redis_url=args.redis_url,
                            access=None if args.access is None else variant,
                            redis_prefix=f"{prefix}{protocol}:",
                            egresses=_egress_count(variant),
                        )
            rows = asyncio.run(drive(args, sim, gateways))
        finally:
            for process in (*gateways.values(), sim):
                process.terminate()
            for process in (*gateways.values(), sim):
                process.wait(90)  # a gateway with a usage log writes out its records first
            if "redis" in variants:
                _delete_prefix(args.redis_url, prefix)  # whatever a failed run left behind
        for label, gateway in gateways.items():
            if args.access is not None and not label.endswith("/none"):
                summary = gateway.summary_file
                records[label] = {"sent": gateway.sent, **(
                    json.loads(summary.read_text()) if summary.exists() else {"stored": None})}
    table = medians(rows)
    print_table(table)
    if args.access is not None:
        print_variants(rows, base_variant="none", what="client access",
                       max_cpu_ms=MAX_ACCESS_CPU_MS)
        print_records(rows, records)
    if args.egresses is not None:
        print_variants(rows, base_variant=f"egress-{args.egresses[0]}", what="egresses",
                       max_cpu_ms=None)
    if args.tracing != "off":
        print_tracing(table, receiver)
    if args.json:
        args.json.write_text(json.dumps({"rounds": rows, "medians": table, "records": records},
                                        indent=2))


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(part) for part in text.split(","))
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError("egress counts are whole numbers >= 0, e.g. 0,1,4")
    return counts


def _egress_count(variant: str | None) -> int:
    return int(variant.removeprefix("egress-")) if variant and variant.startswith("egress-") else 0


def _delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
    finally:
        client.close()


if __name__ == "__main__":
    main()
