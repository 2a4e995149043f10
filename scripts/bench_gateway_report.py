"""The table of ``bench_gateway.py``: medians per phase, gateway/direct ratios per
protocol, and the issue's targets (concurrency 64 throughput at least a quarter of direct,
p99 under 100 ms there, at most 1 ms of gateway CPU per request, at most 2 ms added to the
first token at concurrency 1), each said met or missed.

With ``--access``: each client-access variant against ``none`` (issue #16: at most 0.1 ms
of CPU per request for key checking, limits and records, and no change in p99 beyond noise
at concurrency 64), from differences taken within each round (the variants run side by
side, so a round's drift hits all of them), and whether every request's usage record
reached the store. With ``--egresses``: gateways whose pool has 1 or more
direct egresses against one with none (issue #20: no loss beyond noise), the same way."""

from __future__ import annotations

import statistics
from typing import Any

CONCURRENCY = (1, 16, 64)
MIN_THROUGHPUT_RATIO = 0.25
MAX_P99_MS = 100.0
MAX_CPU_MS = 1.0
MAX_ADDED_TTFT_MS = 2.0
MAX_ACCESS_CPU_MS = 0.1


def print_table(rows: list[dict[str, Any]]) -> None:
    rounds = rows[0].get("rounds", 1) if rows else 1
    print(f"\nmedians of {rounds} rounds" if rounds > 1 else "")
    width = max([5, *(len(row.get("protocol", "rest")) for row in rows)])  # rest/memory
    print(f"{'proto':{width}} {'target':10} {'stream':6} {'c':>3} {'req/s':>8} {'p50ms':>7} "
          f"{'p99ms':>8} {'ttft50':>7} {'cpu ms/req (gw | sim)':>22}")
    for row in rows:
        cpu = row["cpu_ms_per_req"]
        ttft = "-" if row["ttft_p50_ms"] is None else f"{row['ttft_p50_ms']:.2f}"
        print(f"{row.get('protocol', 'rest'):{width}} {row['target']:10} {row['stream']!s:6} "
              f"{row['c']:>3} {row['rps']:>8} {row['p50_ms']:>7} {row['p99_ms']:>8} {ttft:>7} "
              f"{cpu['gateway']:>10} | {cpu['simulator']:<8} errors={row['errors']}")
    by_key = {(r.get("protocol", "rest"), r["target"], r["stream"], r["c"]): r for r in rows}
    for protocol in dict.fromkeys(r.get("protocol", "rest") for r in rows):
        if (protocol, "simulator", True, CONCURRENCY[0]) not in by_key:
            continue  # an --access run: no direct rows (see print_variants)
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


def print_variants(rows: list[dict[str, Any]], *, base_variant: str, what: str,
                   max_cpu_ms: float | None) -> None:
    """Each variant minus ``<protocol>/<base_variant>``: per phase the median over rounds of
    the per-round differences, then the c=64 differences of every round, then the targets:
    p99 at c=64 within the base's own spread over the rounds, and the gateway's CPU per
    request at most ``max_cpu_ms`` more (None: within the base's own CPU spread)."""
    labels = list(dict.fromkeys(row["protocol"] for row in rows))
    by = {(row["round"], row["protocol"], row["stream"], row["c"]): row for row in rows}
    rounds = sorted({row["round"] for row in rows})
    for base in [label for label in labels if label.endswith(f"/{base_variant}")]:
        protocol = base.split("/")[0]
        others = [label for label in labels if label.startswith(f"{protocol}/") and label != base]
        print(f"\n{protocol}: {what} vs {base}: differences taken within each round "
              "(the variants run side by side), median over the rounds")
        print(f"  {'variant':14} {'stream':6} {'c':>3} {'dCPU gw ms/req':>14} "
              f"{'dCPU redis':>10} {'dp99 ms':>8} {'rounds p99 up':>13} {'base p99 spread':>15}")
        verdicts = []
        cpu_noise = 0.0
        for label in others:
            worst_cpu = None
            for stream in (True, False):
                for concurrency in CONCURRENCY:
                    pairs = _pairs(by, rounds, label, base, stream, concurrency)
                    if not pairs:
                        continue
                    d_cpu = _median([_cpu(v, "gateway") - _cpu(b, "gateway") for v, b in pairs])
                    d_redis = _median([_cpu(v, "redis") - _cpu(b, "redis") for v, b in pairs])
                    d_p99 = [v["p99_ms"] - b["p99_ms"] for v, b in pairs]
                    base_p99 = [b["p99_ms"] for _, b in pairs]
                    spread = max(base_p99) - min(base_p99)
                    up = sum(d > 0 for d in d_p99)
                    print(f"  {label:14} {stream!s:6} {concurrency:>3} {d_cpu:>+14.3f} "
                          f"{d_redis:>+10.3f} {_median(d_p99):>+8.2f} "
                          f"{f'{up}/{len(pairs)}':>13} {spread:>15.2f}")
                    worst_cpu = d_cpu if worst_cpu is None else max(worst_cpu, d_cpu)
                    base_cpu = [_cpu(b, "gateway") for _, b in pairs]
                    cpu_noise = max(cpu_noise, max(base_cpu) - min(base_cpu))
                    if concurrency == 64:
                        verdicts.append((
                            f"{label} c=64 stream={stream} p99 {_median(d_p99):+.2f} ms "
                            f"(median; up in {up}/{len(pairs)} rounds) vs the base's own spread "
                            f"over rounds {spread:.2f} ms",
                            _median(d_p99) <= spread,
                        ))
            if worst_cpu is not None:
                cap = cpu_noise if max_cpu_ms is None else max_cpu_ms
                bound = (f"within the base's own CPU spread over the rounds, {cap:.3f}"
                         if max_cpu_ms is None else f"<= {cap:g}")
                verdicts.append((
                    f"{label} gateway CPU {worst_cpu:+.3f} ms/req (the largest median "
                    f"difference over the phases; {bound})",
                    worst_cpu <= cap,
                ))
        print(f"\n  c=64, every round: variant minus {base} (gateway CPU ms/req, p99 ms); "
              f"{base} itself")
        for stream in (True, False):
            for round_ in rounds:
                none = by.get((round_, base, stream, 64))
                if none is None:
                    continue
                cells = []
                for label in others:
                    row = by.get((round_, label, stream, 64))
                    if row is not None:
                        d_cpu = _cpu(row, "gateway") - _cpu(none, "gateway")
                        cells.append(f"{label.split('/')[1]} {d_cpu:+.3f} "
                                     f"{row['p99_ms'] - none['p99_ms']:+7.2f}")
                print(f"  stream={stream!s:5} round {round_}: " + "  |  ".join(cells)
                      + f"  |  {base_variant} {_cpu(none, 'gateway'):.3f} {none['p99_ms']:.2f} "
                      f"({none['rps']} req/s)")
        for label in (base, *others):
            failed = sum(row["errors"] for row in rows if row["protocol"] == label)
            if failed:
                verdicts.append((f"{label}: {failed} requests answered other than 200", False))
        for text, ok in verdicts:
            print(f"  target {'met   ' if ok else 'MISSED'} {text}")


def print_records(rows: list[dict[str, Any]], records: dict[str, dict[str, Any]]) -> None:
    """Per variant with a usage log: records stored vs requests sent at the end, and the
    backlog (sent but not yet stored) after each phase, per round."""
    if not records:
        return
    print("\nusage records (one per request sent, warm-up and errors included)")
    for label, counts in records.items():
        stored, sent = counts.get("stored"), counts["sent"]
        pending = counts.get("pending_after_drain", 0)
        verdict = ("all stored" if stored == sent
                   else "NO COUNT (the gateway wrote no summary)" if stored is None
                   else f"MISSING {sent - stored}")
        print(f"  {label}: sent {sent}, stored {stored} (left in Redis after the final drain: "
              f"{pending}): {verdict}")
        mine = [row for row in rows if row["protocol"] == label and "backlog" in row]
        if not mine:
            continue
        per_round: dict[int, list[dict[str, Any]]] = {}
        for row in mine:
            per_round.setdefault(row["round"], []).append(row)
        worst = [max(group, key=lambda row: row["backlog"]) for group in per_round.values()]
        print("    backlog after a phase (sent, not yet stored), the largest of each round: "
              + ", ".join(f"{row['backlog']} (c={row['c']} at {row['rps']} req/s)"
                          for row in worst))
        peak = max(row["rps"] for row in mine)
        print(f"    fastest phase {peak} req/s; the backlog is records of the last "
              "flush interval(s), growth would show as rounds rising")


def _pairs(by: dict[tuple[Any, ...], dict[str, Any]], rounds: list[int], label: str, base: str,
           stream: bool, concurrency: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pairs = []
    for round_ in rounds:
        row, none = by.get((round_, label, stream, concurrency)), by.get(
            (round_, base, stream, concurrency))
        if row is not None and none is not None:
            pairs.append((row, none))
    return pairs


def _cpu(row: dict[str, Any], name: str) -> float:
    return float(row["cpu_ms_per_req"].get(name, 0.0))


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
