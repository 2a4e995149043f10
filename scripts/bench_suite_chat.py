"""The chat workload of ``make bench``: non-streaming and streaming chat completions at each
concurrency, straight to the simulator and through a deployment, one row per phase.

The phases are bench_gateway.py's (:func:`bench_gateway.run_phase`: kept-alive raw HTTP/1.1
clients in this process, CPU from /proc); this module adds the gateways' peak RSS while a
phase runs and labels each row with the deployment it measured, so the single-process mode,
the distributed deployment with one gateway and with two sit in one table against the same
simulator-direct rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench_gateway import Target, run_phase

CONCURRENCY = (1, 16, 64, 256)
DIRECT = "simulator-direct"


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` now, in MB (0 once the process is gone)."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The highest RSS each of ``pids`` reached while sampled (every ``interval`` s)."""

    def __init__(self, pids: Sequence[int], *, interval: float = 0.1) -> None:
        self._pids = list(pids)
        self._interval = interval
        self.peaks = {pid: rss_mb(pid) for pid in self._pids}

    def sample(self) -> None:
        for pid in self._pids:
            self.peaks[pid] = max(self.peaks[pid], rss_mb(pid))

    @contextlib.asynccontextmanager
    async def sampling(self) -> AsyncIterator[PeakRss]:
        async def loop() -> None:
            while True:
                self.sample()
                await asyncio.sleep(self._interval)

        task = asyncio.create_task(loop())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.sample()


def gateway_target(*, port: int, pid: int) -> Target:
    """OpenAI chat completions at ``port`` (run_phase writes the body for a "gateway")."""
    return Target(name="gateway", protocol="rest", port=port, pid=pid,
                  path="/v1/chat/completions", body=b"", headers=(),
                  first_token=b'"content":"')


async def measure(*, deployment: str, through: Target, gateway_pids: Mapping[str, int],
                  other_pids: Mapping[str, int], direct: Target | None = None,
                  levels: Sequence[int] = CONCURRENCY, seconds: float) -> list[dict[str, Any]]:
    """Per concurrency: ``direct`` (when given; the upstream always streams, so one row),
    then ``through`` not streaming and streaming. Each row: run_phase's figures, the
    deployment, the gateways' CPU per request summed over ``gateway_pids`` (ms) and their
    peak RSS (the largest of them, MB)."""
    rows = []
    pids = {**gateway_pids, **other_pids}
    for concurrency in levels:
        plan: list[tuple[Target, bool]] = [(through, False), (through, True)]
        if direct is not None:
            plan.insert(0, (direct, True))
        for target, stream in plan:
            peak = PeakRss(list(gateway_pids.values()))
            async with peak.sampling():
                phase = await run_phase(target, stream=stream, concurrency=concurrency,
                                        seconds=seconds, pids=pids)
            row = phase.row()
            cpu = row.pop("cpu_ms_per_req")
            is_direct = target is direct
            row.update(
                deployment=DIRECT if is_direct else deployment,
                gateway_cpu_ms_per_req=None if is_direct else round(
                    sum(cpu[name] for name in gateway_pids), 3),
                gateway_rss_mb=None if is_direct else round(max(peak.peaks.values()), 1),
                cpu_ms_per_req=cpu,
            )
            rows.append(row)
    return rows


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with ``rps_vs_direct`` and ``added_p50_ms`` / ``added_ttft_ms`` against the
    simulator-direct row of the same concurrency (None where there is none)."""
    direct = {row["c"]: row for row in rows if row["deployment"] == DIRECT}
    for row in rows:
        base = direct.get(row["c"])
        if base is None or row["deployment"] == DIRECT:
            row.update(rps_vs_direct=None, added_p50_ms=None, added_ttft_ms=None)
            continue
        row["rps_vs_direct"] = round(row["rps"] / base["rps"], 3) if base["rps"] else None
        row["added_p50_ms"] = round(row["p50_ms"] - base["p50_ms"], 2)
        ttft, base_ttft = row["ttft_p50_ms"], base["ttft_p50_ms"]
        row["added_ttft_ms"] = (round(ttft - base_ttft, 2)
                                if ttft is not None and base_ttft is not None else None)
    return rows
