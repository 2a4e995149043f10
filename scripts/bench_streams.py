"""Concurrent slow streams through one `grok2api run` process (issue #21).

Starts the simulator (every frame ``--token-delay-ms`` apart, so each stream lasts
``tokens x delay``) and `grok2api run` with its default settings except the upstream URLs
(and whatever ``--env KEY=VALUE`` adds), opens ``--streams`` streaming chats at once from
this one process over raw asyncio connections, and reports how many ended with
``data: [DONE]`` within ``--deadline`` seconds, the gateway's peak RSS (the process and its
children, sampled every 0.2 s), its idle RSS, and its upstream-connection waits from
``/metrics``. ``--json`` prints the result as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench_gateway_procs import add_accounts, free_port, wait_port
from grok_sim.testing import SimulatorProcess

REQUEST_BODY = json.dumps({
    "model": "grok-4", "stream": True, "messages": [{"role": "user", "content": "slowly"}],
}).encode()
WAIT_METRICS = ("grok2api_upstream_connection_waiting", "grok2api_upstream_connection_waits_total")


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (0 once gone)."""
    total = 0
    for each in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = [int(child) for child in children]
    for child in list(found):
        found += _descendants(child)
    return found


async def one_stream(port: int, *, deadline: float) -> str:
    """One streaming chat; "done" when it ended with ``[DONE]`` before ``deadline``
    (a monotonic time), else what stopped it."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        return f"connect:{type(exc).__name__}"
    try:
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(REQUEST_BODY), REQUEST_BODY)
        )
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                return f"status:{head.split(b' ', 2)[1].decode()}"
            tail = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    return "cut"
                tail = (tail + data)[-64:]
                if b"data: [DONE]" in tail:
                    return "done"
    except TimeoutError:
        return "unfinished"
    except (OSError, asyncio.IncompleteReadError) as exc:
        return f"error:{type(exc).__name__}"
    finally:
        writer.close()


def metric_values(port: int) -> dict[str, float]:
    """The upstream-connection wait series of the gateway's /metrics, summed by name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    values = dict.fromkeys(WAIT_METRICS, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in values:
            values[name] += float(line.rsplit(" ", 1)[1])
    return values


async def drive(port: int, pid: int, *, streams: int, deadline_s: float) -> dict[str, Any]:
    peak = 0
    started = time.monotonic()
    deadline = started + deadline_s
    tasks = [asyncio.create_task(one_stream(port, deadline=deadline)) for _ in range(streams)]
    pending = set(tasks)
    while pending:
        peak = max(peak, rss_bytes(pid))
        _, pending = await asyncio.wait(pending, timeout=0.2)
    outcomes: dict[str, int] = {}
    for task in tasks:
        outcomes[task.result()] = outcomes.get(task.result(), 0) + 1
    return {"outcomes": outcomes, "peak_rss_mb": round(peak / 2**20, 1),
            "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=500,
                        help="accounts (the pool's default cap is 4 calls per account)")
    parser.add_argument("--token-delay-ms", type=float, default=1000.0)
    parser.add_argument("--deadline", type=float, default=30.0)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the gateway")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the load's own sockets
    with tempfile.TemporaryDirectory() as data_dir:
        accounts_file = Path(data_dir) / "accounts.json"
        accounts_file.write_text(json.dumps([
            {"credential": f"sso-bench-{i}", "tier": "super",
             "quotas": {mode: 10_000_000 for mode in ("auto", "fast", "expert", "heavy")}}
            for i in range(args.accounts)
        ]))
        with SimulatorProcess(accounts_file=accounts_file,
                              token_delay_ms=args.token_delay_ms) as sim:
            port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
            env = {k: v for k, v in os.environ.items() if not k.startswith("GROK2API_")}
            env.update({
                "DATA_DIR": data_dir, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port),
                "TOKEN_POOL_ADDR": pool_addr, "LOG_FILE_ENABLED": "false",
                "GROK2API_NETWORK__BASE_URL": sim.base_url,
                "GROK2API_NETWORK__ASSETS_URL": sim.base_url,
                "GROK2API_NETWORK__ACCOUNTS_URL": sim.base_url,
                "GROK2API_TOKEN__AUTO_REFRESH": "false",
            })
            env.update(item.split("=", 1) for item in args.env)
            log_path = Path(data_dir) / "gateway.log"
            with log_path.open("wb") as log:
                gateway = subprocess.Popen([sys.executable, "-m", "grok2api_cli.main", "run"],
                                           env=env, stdout=log, stderr=subprocess.STDOUT)
                try:
                    wait_port(port, gateway, timeout=90)
                    asyncio.run(add_accounts(pool_addr, args.accounts))
                    idle = rss_bytes(gateway.pid)
                    result = asyncio.run(drive(port, gateway.pid, streams=args.streams,
                                               deadline_s=args.deadline))
                    result.update(metric_values(port))
                finally:
                    gateway.terminate()  # open streams get server.shutdown_grace to finish
                    try:
                        gateway.wait(90)
                    except subprocess.TimeoutExpired:
                        gateway.kill()
                        gateway.wait()
            lines = log_path.read_text(errors="replace").splitlines()
            waits = [line for line in lines if "upstream_connection_wait" in line]
            notable: dict[str, int] = {}  # warnings and errors by event name
            for line in lines:
                fields = line.split()
                if len(fields) > 2 and fields[1] in ("WARNING", "ERROR"):
                    event = f"{fields[1]} {fields[3] if len(fields) > 3 else ''}"
                    notable[event] = notable.get(event, 0) + 1
    result.update(streams=args.streams, idle_rss_mb=round(idle / 2**20, 1),
                  nofile_soft_before=soft, wait_log_lines=waits[:3], notable_log=notable,
                  token_delay_ms=args.token_delay_ms, env=args.env)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
