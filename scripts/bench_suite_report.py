"""What ``make bench`` says: the machine it ran on, and its results as rich tables on the
terminal (:func:`print_results`) or as Markdown tables (:func:`tables`, used by
bench_suite_docs for docs/benchmarks.md). Both read the JSON the suite writes and nothing
else, so a stored JSON can be rendered again."""

from __future__ import annotations

import datetime
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def machine(root: Path) -> dict[str, Any]:
    """Cores, CPU model, RAM, load, the commit and the date: what a figure depends on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), "unknown")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit(root), "cores": os.cpu_count(), "cpu_model": model,
        "ram_gb": round(total_kb / 1024 / 1024, 1), "load_before": load_average(),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def commit(root: Path) -> str:
    """HEAD's short hash, with ``+dirty`` when tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table the results hold, in reading order."""
    found = []
    chat = results.get("chat", [])
    if chat:
        found.append((
            "Chat completions (ratios against simulator-direct at the same concurrency)",
            ["deployment", "stream", "c", "req/s", "x direct", "p50 ms", "p99 ms",
             "TTFT p50 ms", "gw CPU ms/req", "gw RSS MB", "errors"],
            [[row["deployment"], _fmt(row["stream"]), _fmt(row["c"]), _fmt(row["rps"]),
              _fmt(row.get("rps_vs_direct"), 2), _fmt(row["p50_ms"], 2),
              _fmt(row["p99_ms"], 2), _fmt(row["ttft_p50_ms"], 2),
              _fmt(row["gateway_cpu_ms_per_req"], 3), _fmt(row["gateway_rss_mb"]),
              _fmt(row["errors"])] for row in chat],
        ))
    scaling = results.get("cluster", {}).get("scaling", [])
    if scaling:
        found.append((
            "Distributed deployment: two gateways against one",
            ["stream", "c", "req/s 1 gw", "req/s 2 gw", "2 gw / 1 gw", "gw CPU ms/req 1 gw",
             "gw CPU ms/req 2 gw"],
            [[_fmt(row["stream"]), _fmt(row["c"]), _fmt(row["rps_1gw"]),
              _fmt(row["rps_2gw"]), _fmt(row["two_over_one"], 2),
              _fmt(row["gateway_cpu_ms_per_req_1gw"], 3),
              _fmt(row["gateway_cpu_ms_per_req_2gw"], 3)] for row in scaling],
        ))
    memory = _memory_rows(results)
    if memory:
        found.append(("Gateway memory (grok2api run, default settings)",
                      ["measurement", "figure", "target", "met"], memory))
    if results.get("pool"):
        found.append((
            "Token pool: Acquire+Release pairs",
            ["scenario", "pairs/s", "p50 ms", "p99 ms", "errors", "replica CPU us/pair"],
            [[row["scenario"], _fmt(row["pairs_per_s"]), _fmt(row["p50_ms"], 2),
              _fmt(row["p99_ms"], 2), _fmt(row["errors"]),
              _fmt(row.get("replica_cpu_us_per_pair"))] for row in results["pool"]],
        ))
    media = results.get("media")
    if media:
        rows = [[f"one image, c={row['concurrency']}", _fmt(row["direct_per_second"]),
                 _fmt(row["grok2api_per_second"]),
                 _fmt(row["grok2api_per_second"] / row["direct_per_second"], 2)
                 if row["direct_per_second"] else "-",
                 _fmt(row["direct_p50_ms"]), _fmt(row["grok2api_p50_ms"])]
                for row in media["overhead"]]
        for workers in (1, 2):
            rows.append([f"image jobs, split services, {workers} worker(s), c=32", "-",
                         _fmt(media.get(f"jobs_per_second_{workers}_worker")), "-", "-", "-"])
        found.append(("Media jobs", ["workload", "direct /s", "grok2api /s", "x direct",
                                     "direct p50 ms", "grok2api p50 ms"], rows))
    return found


def _memory_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    idle = results.get("idle")
    if idle and "rss_mb" in idle:
        rows.append(["idle RSS, fresh start (no account, no request)",
                     f"{idle['rss_mb']:.1f} MB", f"< {idle['target_mb']:g} MB",
                     _fmt(idle["rss_mb"] < idle["target_mb"])])
    if idle and "restart_rss_mb" in idle:
        rows.append(["idle RSS, started again (store migrated; no account, no request)",
                     f"{idle['restart_rss_mb']:.1f} MB", f"< {idle['target_mb']:g} MB",
                     _fmt(idle["restart_rss_mb"] < idle["target_mb"])])
    if idle and "with_accounts_rss_mb" in idle:
        rows.append(["idle RSS, 64 accounts added and their quotas read, no request",
                     f"{idle['with_accounts_rss_mb']:.1f} MB", "-", "-"])
    for capacity in results.get("capacity", []):
        protocol = capacity["chat_protocol"] + (" (default)" if capacity["default_protocol"]
                                                else "")
        rows.append([f"slow streams held at once, upstream {protocol} (commit "
                     f"{capacity['commit']})", _fmt(capacity["held_at_once"]),
                     f"{capacity['streams_asked']:,}",
                     _fmt(capacity["held_at_once"] == capacity["streams_asked"])])
        rows.append([f"peak RSS while holding them, upstream {protocol}",
                     f"{capacity['rss_peak_mb']:.1f} MB", f"< {capacity['rss_target_mb']:g} MB",
                     _fmt(capacity["rss_peak_mb"] < capacity["rss_target_mb"])])
    return rows


def print_results(results: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 150))
    meta = results["meta"]
    console.print(f"[bold]make bench[/bold] {meta['date']} commit {meta['commit']}: "
                  f"{meta['cores']} cores ({meta['cpu_model']}), {meta['ram_gb']} GB, load "
                  f"{_load(meta['load_before'])} before, {_load(meta.get('load_after'))} after; "
                  f"{meta.get('elapsed_seconds', '?')} s")
    for title, header, rows in tables(results):
        table = Table(title=title, title_justify="left")
        for name in header:
            text = name in _TEXT
            table.add_column(name, justify="left" if text else "right", no_wrap=text)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    for part, error in results.get("failed", {}).items():
        console.print(f"[red]{part} failed:[/red] {error}")


_TEXT = {"deployment", "scenario", "workload", "measurement", "stream"}


def _load(values: Sequence[float] | None) -> str:
    return "/".join(f"{value:.2f}" for value in values) if values else "?"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    align = [":---" if name in _TEXT else "---:" for name in header]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
