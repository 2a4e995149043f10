"""The table of ``bench_gateway.py``: medians per phase, gateway/direct ratios per
protocol, and the issue's targets (concurrency 64 throughput at least a quarter of direct,
p99 under 100 ms there, at most 1 ms of gateway CPU per request, at most 2 ms added to the
first token at concurrency 1), each said met or missed."""

from __future__ import annotations

from typing import Any

CONCURRENCY = (1, 16, 64)
MIN_THROUGHPUT_RATIO = 0.25
MAX_P99_MS = 100.0
MAX_CPU_MS = 1.0
MAX_ADDED_TTFT_MS = 2.0


def print_table(rows: list[dict[str, Any]]) -> None:
    rounds = rows[0].get("rounds", 1) if rows else 1
    print(f"\nmedians of {rounds} rounds" if rounds > 1 else "")
    print(f"{'proto':5} {'target':10} {'stream':6} {'c':>3} {'req/s':>8} {'p50ms':>7} "
          f"{'p99ms':>8} {'ttft50':>7} {'cpu ms/req (gw | sim)':>22}")
    for row in rows:
        cpu = row["cpu_ms_per_req"]
        ttft = "-" if row["ttft_p50_ms"] is None else f"{row['ttft_p50_ms']:.2f}"
        print(f"{row.get('protocol', 'rest'):5} {row['target']:10} {row['stream']!s:6} "
              f"{row['c']:>3} {row['rps']:>8} {row['p50_ms']:>7} {row['p99_ms']:>8} {ttft:>7} "
              f"{cpu['gateway']:>10} | {cpu['simulator']:<8} errors={row['errors']}")
    by_key = {(r.get("protocol", "rest"), r["target"], r["stream"], r["c"]): r for r in rows}
    for protocol in dict.fromkeys(r.get("protocol", "rest") for r in rows):
        print(f"\n{protocol}: gateway vs the same protocol straight to the simulator")
        for stream in (True, False):
            for concurrency in CONCURRENCY:
                direct = by_key.get((protocol, "simulator", True, concurrency))
                through = by_key.get((protocol, "gateway", stream, concurrency))
                if direct and through:
                    print(_ratio_line(direct, through, stream, concurrency))
        print(_targets(by_key, protocol))


def _ratio_line(direct: dict[str, Any], through: dict[str, Any], stream: bool,
                concurrency: int) -> str:
    ratio = through["rps"] / max(direct["rps"], 0.1)
    added = through["p50_ms"] - direct["p50_ms"]
    line = (f"  stream={stream!s:5} c={concurrency:<3} gateway/direct throughput="
            f"{ratio:.2f}  added p50={added:.2f} ms")
    if through["ttft_p50_ms"] is not None and direct["ttft_p50_ms"] is not None:
        added_ttft = through["ttft_p50_ms"] - direct["ttft_p50_ms"]
        line += f"  added ttft50={added_ttft:.2f} ms"
    return line


def _targets(by_key: dict[tuple[Any, ...], dict[str, Any]], protocol: str) -> str:
    checks = []
    for stream in (True, False):
        direct = by_key.get((protocol, "simulator", True, 64))
        through = by_key.get((protocol, "gateway", stream, 64))
        if not (direct and through):
            continue
        ratio = through["rps"] / max(direct["rps"], 0.1)
        checks.append((f"c=64 stream={stream} throughput {ratio:.2f} of direct (>= "
                       f"{MIN_THROUGHPUT_RATIO})", ratio >= MIN_THROUGHPUT_RATIO))
        checks.append((f"c=64 stream={stream} p99 {through['p99_ms']:.1f} ms (< {MAX_P99_MS:g})",
                       through["p99_ms"] < MAX_P99_MS))
        for concurrency in CONCURRENCY:
            row = by_key.get((protocol, "gateway", stream, concurrency))
            if row:
                cpu = row["cpu_ms_per_req"]["gateway"]
                checks.append((f"c={concurrency} stream={stream} gateway CPU {cpu:.2f} ms/req "
                               f"(<= {MAX_CPU_MS:g})", cpu <= MAX_CPU_MS))
    direct = by_key.get((protocol, "simulator", True, 1))
    through = by_key.get((protocol, "gateway", True, 1))
    if direct and through and direct["ttft_p50_ms"] and through["ttft_p50_ms"]:
        added = through["ttft_p50_ms"] - direct["ttft_p50_ms"]
        checks.append((f"c=1 added ttft50 {added:.2f} ms (<= {MAX_ADDED_TTFT_MS:g})",
                       added <= MAX_ADDED_TTFT_MS))
    return "\n".join(f"  target {'met   ' if ok else 'MISSED'} {text}" for text, ok in checks)
