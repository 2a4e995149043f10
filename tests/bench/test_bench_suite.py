"""`make bench` keeps working: its quick mode, with tiny phases, runs every workload and
writes JSON holding figures for each of them (what it measures, not how fast: no timing is
asserted) and a benchmarks page from them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ("simulator-direct", "single-process", "cluster-1gw", "cluster-2gw")
LEVELS = (1, 16)  # the quick mode's concurrencies
# A bound, not a measurement: the run starts about twenty processes, two clusters among them.
RUN_TIMEOUT = 800
# Two to five minutes on the 2-core VM: it runs in `make test-soak`, not `make test`.
pytestmark = [pytest.mark.e2e, pytest.mark.soak, pytest.mark.timeout(RUN_TIMEOUT + 180)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bench")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.pop("REDIS_URL", None)
    suite = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "bench_suite.py"), "--quick",
         "--seconds", "0.3", "--streams", "20", "--json", str(folder / "bench.json"),
         "--write-docs", str(folder / "benchmarks.md")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        stdout, stderr = suite.communicate(timeout=RUN_TIMEOUT)
    finally:
        if suite.poll() is None:  # SIGTERM: the suite stops the processes it started
            suite.terminate()
            suite.communicate(timeout=120)
    assert suite.returncode == 0, stdout[-3000:] + stderr[-5000:]
    return {"json": json.loads((folder / "bench.json").read_text()),
            "docs": (folder / "benchmarks.md").read_text(), "stdout": stdout}


def test_every_chat_deployment_has_a_row_per_mode_and_concurrency(run: dict[str, Any]) -> None:
    rows = run["json"]["chat"]
    for deployment in DEPLOYMENTS:
        streams = (True,) if deployment == "simulator-direct" else (False, True)
        for stream in streams:
            for level in LEVELS:
                [row] = [r for r in rows if (r["deployment"], r["stream"], r["c"])
                         == (deployment, stream, level)]
                assert row["requests"] > 0 and row["errors"] == 0, row
                assert row["rps"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"], row
                if stream:
                    assert row["ttft_p50_ms"] > 0, row
                if deployment != "simulator-direct":
                    assert row["rps_vs_direct"] > 0, row
                    assert row["gateway_cpu_ms_per_req"] > 0, row
                    assert row["gateway_rss_mb"] > 0, row


def test_two_gateways_are_compared_with_one(run: dict[str, Any]) -> None:
    scaling = run["json"]["cluster"]["scaling"]
    assert {(row["stream"], row["c"]) for row in scaling} == {
        (stream, level) for stream in (False, True) for level in LEVELS}
    for row in scaling:
        assert row["two_over_one"] > 0
        assert row["gateway_cpu_ms_per_req_1gw"] > 0 and row["gateway_cpu_ms_per_req_2gw"] > 0


def test_memory_figures_are_measured(run: dict[str, Any]) -> None:
    result = run["json"]
    assert result["idle"]["rss_mb"] > 0 and result["idle"]["with_accounts_rss_mb"] > 0
    assert [(c["chat_protocol"], c["default_protocol"]) for c in result["capacity"]] == [
        ("mgw", True), ("rest", False)]
    for capacity in result["capacity"]:
        assert capacity["streams_asked"] == 20
        assert 0 < capacity["held_at_once"] <= 20
        assert capacity["rss_peak_mb"] >= capacity["rss_idle_mb"] > 0
        assert capacity["commit"]


def test_pool_and_media_have_throughput(run: dict[str, Any]) -> None:
    result = run["json"]
    assert [row["scenario"] for row in result["pool"]] == [
        "in-process / memory", "in-process / redis", "grpc / redis / 1 replica",
        "grpc / redis / 2 replicas"]
    for row in result["pool"]:
        assert row["pairs_per_s"] > 0 and row["errors"] == 0, row
    media = result["media"]
    assert [row["concurrency"] for row in media["overhead"]] == [1, 16]
    for row in media["overhead"]:
        assert row["direct_per_second"] > 0 and row["grok2api_per_second"] > 0, row
    assert media["jobs_per_second_1_worker"] > 0 and media["jobs_per_second_2_worker"] > 0


def test_the_run_describes_its_machine_and_writes_the_page(run: dict[str, Any]) -> None:
    meta = run["json"]["meta"]
    assert meta["cores"] >= 1 and meta["cpu_model"] and meta["ram_gb"] > 0
    assert len(meta["load_before"]) == 3 and meta["commit"] != "unknown"
    assert "failed" not in run["json"]
    docs = run["docs"]
    for heading in ("## The machine and the run", "## What the numbers mean",
                    "## Chat completions", "## Token pool", "## Media jobs",
                    "## Distributed deployment: two gateways against one"):
        assert heading in docs
    assert f"{meta['cores']} cores ({meta['cpu_model']})" in docs
    assert "JSON: " in run["stdout"]
