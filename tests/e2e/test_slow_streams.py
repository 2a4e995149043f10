"""Slow clients and slow upstreams (issue #21): many concurrent streams through one
`grok2api run` process with its default settings, against a simulator that sends every
frame after a delay; some clients read slowly, some hang up mid-stream. Every client that
stays gets the whole answer; afterwards no lease is held, no upstream WebSocket is open
(the process's own slot count, and the simulator's count of open mgw sockets) and resident
memory is bounded: a second round of the same load does not grow it beyond the first.

The normal suite runs a few hundred streams; the soak profile (``-m soak``,
``make test-soak``) a thousand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from curl_cffi import requests
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier
from grok_sim.testing import SimHandle, SimulatorProcess

from .conftest import ROOT, free_port, process_env
from .stream_load import Outcome, rss_bytes, stream_chat

pytestmark = pytest.mark.e2e

REPLY = " ".join(f"word{n}" for n in range(30))
FRAME_DELAY_MS = 100  # ~30 answer frames: each stream lasts about three seconds
PER_ACCOUNT = 4  # token.max_inflight_per_account's default
# Generous: a stream costs about 0.2 MB here (curl's WebSocket buffers are 128 kB of it).
MB_PER_STREAM = 1.0


def styles(streams: int) -> list[str]:
    """A fifth of the clients read slowly, a fifth hang up, the rest read at once."""
    return [("slow", "leave", "fast", "fast", "fast")[n % 5] for n in range(streams)]


def metric(port: int, name: str, labels: str = "") -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    total = 0.0
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and labels in series:
            total += float(value)
    return total


class LoggedRun:
    """`grok2api run` with its output in a file: hundreds of streams log more than a pipe
    holds, and a full pipe nobody reads would block the process's logging (and its event
    loop) mid-test."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grok2api_cli.main", "run"],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, port: int) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.stop()
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestsError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"never ready: {self.stop()[-3000:]}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.log_path.read_text(errors="replace")


async def add_accounts(pool_addr: str, count: int) -> None:
    async with GrpcPoolClient(pool_addr) as pool:
        for index in range(count):
            await pool.upsert_account(credential=f"sso-slow-{index}", tier=Tier.SUPER)


@dataclasses.dataclass
class Round:
    outcomes: list[Outcome]
    peak_rss: int  # the gateway process's, sampled every 0.1 s
    peak_sockets: int  # mgw sockets the simulator held open at once, sampled likewise


async def one_round(port: int, streams: int, pid: int, sim: SimHandle) -> Round:
    """Every stream at once."""
    tasks = [asyncio.create_task(stream_chat(port, style=s)) for s in styles(streams)]
    peak, sockets, pending = 0, 0, set(tasks)
    while pending:
        peak = max(peak, rss_bytes(pid))
        sockets = max(sockets, sim.open_mgw_sockets())
        _, pending = await asyncio.wait(pending, timeout=0.1)
    return Round([task.result() for task in tasks], peak, sockets)


def settle(port: int, sim: SimHandle) -> tuple[float, float, int]:
    """Leases held, upstream WebSocket slots taken (the gateway's count) and mgw sockets
    open (the simulator's), once the process has let go (polled: hung-up streams are torn
    down asynchronously)."""
    deadline = time.monotonic() + 60
    while True:
        state = (
            metric(port, "grok2api_pool_leases_in_flight"),
            metric(port, "grok2api_upstream_connections_in_use", 'kind="websocket"'),
            sim.open_mgw_sockets(),
        )
        if state == (0, 0, 0) or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def run_slow_streams(tmp_path: Path, streams: int) -> None:
    accounts_file = tmp_path / "accounts.json"
    accounts = streams // PER_ACCOUNT + 2
    accounts_file.write_text(json.dumps([
        {"credential": f"sso-slow-{i}", "tier": "super",
         "quotas": {mode: 1_000_000 for mode in ("auto", "fast", "expert", "heavy")}}
        for i in range(accounts)
    ]))
    with SimulatorProcess(accounts_file=accounts_file, token_delay_ms=FRAME_DELAY_MS) as sim:
        run_against(sim, tmp_path, streams=streams, accounts=accounts)


def run_against(sim: SimHandle, tmp_path: Path, *, streams: int, accounts: int) -> None:
    port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
    env = {**process_env(tmp_path, sim), "SERVER_PORT": str(port), "TOKEN_POOL_ADDR": pool_addr}
    service = LoggedRun(env, tmp_path / "grok2api.log")
    try:
        service.wait_ready(port)
        asyncio.run(add_accounts(pool_addr, accounts))
        pid = service.proc.pid
        sim.script_reply(REPLY, times=3 * streams + 20)
        # warm: every account's user id looked up, lazy imports done, then the baseline
        asyncio.run(one_round(port, min(streams, 20), pid, sim))
        assert settle(port, sim) == (0, 0, 0)
        baseline = rss_bytes(pid)

        first = asyncio.run(one_round(port, streams, pid, sim))
        after_first = settle(port, sim)
        second = asyncio.run(one_round(port, streams, pid, sim))
        after_second = settle(port, sim)
        waits = metric(port, "grok2api_upstream_connection_waits_total")
    finally:
        output = service.stop()

    for run in (first, second):
        # every client that stays gets the whole answer; one that hangs up may have had it
        # all already (a starved load process reads late), but never an error
        failed = [
            (style, o) for style, o in zip(styles(streams), run.outcomes, strict=True)
            if not ((o.done and o.text == REPLY) or (style == "leave" and o.left and not o.error))
        ]
        assert failed == [], (failed[:5], len(failed), output[-3000:])
        # the streams overlapped upstream (each lasts seconds, the clients start at once;
        # a quarter, not all: on a busy machine the load process starts them over a while)
        assert run.peak_sockets > streams // 4, run.peak_sockets
    # leases held, upstream WebSockets open, TCP connections to the simulator
    assert after_first == (0, 0, 0)
    assert after_second == (0, 0, 0)
    assert waits == 0  # the default cap holds this many streams without queueing
    assert first.peak_rss < baseline + streams * MB_PER_STREAM * 2**20, (first.peak_rss, baseline)
    # what the first round's streams held was given back, so the second does not add to it
    assert second.peak_rss < first.peak_rss + streams * MB_PER_STREAM * 2**20 / 4, (
        first.peak_rss, second.peak_rss)
    assert "Traceback" not in output


@pytest.mark.timeout(600)  # a noisy 2-core machine: a hang guard, not a measurement
def test_a_few_hundred_slow_streams_with_slow_and_leaving_clients(tmp_path: Path) -> None:
    run_slow_streams(tmp_path, 250)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_a_thousand_slow_streams_with_slow_and_leaving_clients(tmp_path: Path) -> None:
    run_slow_streams(tmp_path, 1000)
