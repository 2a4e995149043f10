"""Generate the Grafana dashboard `grafana/grok2api.json` from the panel list below.

    python deploy/observability/generate_dashboard.py          # rewrite the JSON
    python deploy/observability/generate_dashboard.py --check  # exit 1 when it differs

Plain Python and the standard library only, so the output is the same on every machine.
Every expression uses only the metric names of docs/metrics.md (plus `up` and prometheus
client's `process_*`); tests/observability checks them against the services' `/metrics`.
Grafana variables in expressions: `$job` (the scrape jobs shown), `$__rate_interval`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "grafana" / "grok2api.json"
UID = "grok2api-overview"
DS = {"type": "prometheus", "uid": "${datasource}"}
J = 'job=~"$job"'
RI = "$__rate_interval"
V1 = 'route=~"/v1/.*"'


@dataclasses.dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclasses.dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    stacked: bool = False


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


def quantiles(bucket: str, by: str = "", selector: str = J) -> tuple[Query, ...]:
    """p50, p95 and p99 of one histogram (``bucket``: its ``_bucket`` series)."""
    extra = f", {by}" if by else ""
    prefix = "{{" + by + "}} " if by else ""
    return tuple(
        q(f"histogram_quantile({p}, sum by (le{extra}) (rate({bucket}{{{selector}}}[{RI}])))",
          f"{prefix}p{round(p * 100)}")
        for p in (0.5, 0.95, 0.99)
    )


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    ("Traffic", (
        Panel("Requests by route", "Answered HTTP requests per second on the /v1 API.",
              (q(f"sum by (route) (rate(grok2api_gateway_requests_total{{{J}, {V1}}}[{RI}]))",
                 "{{route}}"),), unit="reqps"),
        Panel("Answers by status", "Requests per second by HTTP status on the /v1 API "
              "(429: a client key's limit; 503: no account or the pool is unreachable).",
              (q(f"sum by (status) (rate(grok2api_gateway_requests_total{{{J}, {V1}}}[{RI}]))",
                 "{{status}}"),), unit="reqps", stacked=True),
        Panel("Error ratio (5xx)", "Share of /v1 requests answered with a 5xx status.",
              (q(f"sum(rate(grok2api_gateway_requests_total{{{J}, {V1}, status=~\"5..\"}}[{RI}]))"
                 f" / sum(rate(grok2api_gateway_requests_total{{{J}, {V1}}}[{RI}]))",
                 "5xx share"),), unit="percentunit"),
        Panel("Request latency", "Request to the end of its answer, /v1 API, all models.",
              quantiles("grok2api_gateway_request_duration_seconds_bucket",
                        selector=f"{J}, {V1}"), unit="s"),
        Panel("Time to first token", "Request to the first streamed answer chunk.",
              quantiles("grok2api_gateway_time_to_first_token_seconds_bucket"), unit="s"),
        Panel("Streamed tokens by model", "Output tokens per second sent to streaming clients.",
              (q(f"sum by (model) (rate(grok2api_gateway_streamed_tokens_total{{{J}}}[{RI}]))",
                 "{{model}}"),), unit="short"),
    )),
    ("Models", (
        Panel("Requests by model", "Requests per second by catalogue model.",
              (q(f"sum by (model) (rate(grok2api_gateway_requests_total{{{J}, model!=\"\"}}"
                 f"[{RI}]))", "{{model}}"),), unit="reqps", stacked=True),
        Panel("p95 latency by model", "95th percentile of the request duration per model.",
              (q(f"histogram_quantile(0.95, sum by (le, model) (rate("
                 f"grok2api_gateway_request_duration_seconds_bucket{{{J}, model!=\"\"}}[{RI}])))",
                 "{{model}}"),), unit="s"),
        Panel("p95 time to first token by model", "95th percentile of the time to first token.",
              (q(f"histogram_quantile(0.95, sum by (le, model) (rate("
                 f"grok2api_gateway_time_to_first_token_seconds_bucket{{{J}}}[{RI}])))",
                 "{{model}}"),), unit="s"),
        Panel("5xx by model", "Requests per second answered with a 5xx status, per model.",
              (q(f"sum by (model) (rate(grok2api_gateway_requests_total{{{J}, model!=\"\", "
                 f"status=~\"5..\"}}[{RI}]))", "{{model}}"),), unit="reqps"),
        Panel("Account switches by model", "Requests served by another account than the "
              "first one leased (the first failed before the first byte).",
              (q(f"sum by (model) (rate(grok2api_gateway_account_switches_total{{{J}}}[{RI}]))",
                 "{{model}}"),), unit="reqps"),
    )),
    ("Token pool", (
        Panel("Accounts by status and tier", "Accounts in the pool (reported by the replica "
              "holding the metrics lease).",
              (q(f"sum by (tier, status) (grok2api_pool_accounts{{{J}}})",
                 "{{tier}} {{status}}"),), stacked=True),
        Panel("Remaining quota", "Remaining quota summed over usable accounts, by tier and mode.",
              (q(f"sum by (tier, mode) (grok2api_pool_remaining_quota{{{J}}})",
                 "{{tier}} {{mode}}"),)),
        Panel("Leases in flight", "Leases acquired and not yet released.",
              (q(f"sum(grok2api_pool_leases_in_flight{{{J}}})", "leases"),), kind="stat"),
        Panel("Cooling accounts by tier", "Accounts in a cooldown after a rate limit.",
              (q(f"sum by (tier) (grok2api_pool_cooling_accounts{{{J}}})", "{{tier}}"),)),
        Panel("Acquire latency", "Acquire call latency (p95) by result.",
              (q(f"histogram_quantile(0.95, sum by (le, result) (rate("
                 f"grok2api_pool_acquire_duration_seconds_bucket{{{J}}}[{RI}])))",
                 "{{result}} p95"),), unit="s"),
        Panel("Exhausted acquires", "Acquires per second that found no account, by reason.",
              (q(f"sum by (reason) (rate(grok2api_pool_exhausted_total{{{J}}}[{RI}]))",
                 "{{reason}}"),), unit="reqps"),
        Panel("Lease outcomes", "Lease outcomes reported per second (invalid: the upstream "
              "rejected the credential; challenge: a Cloudflare challenge).",
              (q(f"sum by (outcome) (rate(grok2api_pool_outcomes_total{{{J}}}[{RI}]))",
                 "{{outcome}}"),), unit="ops", stacked=True),
        Panel("Usage refreshes", "Usage refreshes of accounts per second, by result.",
              (q(f"sum by (result) (rate(grok2api_pool_usage_refreshes_total{{{J}}}[{RI}]))",
                 "{{result}}"),), unit="ops"),
    )),
    ("Upstream (grok.com)", (
        Panel("Upstream calls by outcome", "Calls to grok.com per second by operation and "
              "outcome class.",
              (q(f"sum by (operation, outcome) (rate(grok2api_upstream_requests_total{{{J}}}"
                 f"[{RI}]))", "{{operation}} {{outcome}}"),), unit="reqps", stacked=True),
        Panel("Challenge ratio", "Share of grok.com calls answered with a Cloudflare challenge.",
              (q(f"sum(rate(grok2api_upstream_requests_total{{{J}, outcome=\"challenge\"}}[{RI}]))"
                 f" / sum(rate(grok2api_upstream_requests_total{{{J}}}[{RI}]))",
                 "challenges"),), unit="percentunit"),
        Panel("Upstream latency", "Call start to the end of its answer (p95) by operation.",
              (q(f"histogram_quantile(0.95, sum by (le, operation) (rate("
                 f"grok2api_upstream_request_duration_seconds_bucket{{{J}}}[{RI}])))",
                 "{{operation}} p95"),), unit="s"),
        Panel("Failed attempts before the first byte", "Upstream attempts the gateway gave up "
              "on before answering, by outcome class and whether it moved to another account.",
              (q(f"sum by (outcome, retried) (rate(grok2api_gateway_upstream_attempts_total"
                 f"{{{J}}}[{RI}]))", "{{outcome}} retried={{retried}}"),), unit="ops"),
    )),
    ("Media", (
        Panel("Media queue depth", "Jobs waiting in the queue.",
              (q(f"sum(grok2api_media_queue_depth{{{J}}})", "waiting"),)),
        Panel("Media jobs in flight", "Jobs running on the workers, by kind.",
              (q(f"sum by (kind) (grok2api_media_jobs_in_flight{{{J}}})", "{{kind}}"),),
              stacked=True),
        Panel("Media jobs finished", "Jobs ended per second by kind and outcome.",
              (q(f"sum by (kind, outcome) (rate(grok2api_media_jobs_finished_total{{{J}}}"
                 f"[{RI}]))", "{{kind}} {{outcome}}"),), unit="ops", stacked=True),
        Panel("Media job duration", "Claim to end, p95 by kind.",
              (q(f"histogram_quantile(0.95, sum by (le, kind) (rate("
                 f"grok2api_media_job_duration_seconds_bucket{{{J}}}[{RI}])))",
                 "{{kind}} p95"),), unit="s"),
        Panel("Media cache size", "The media store's size by file kind.",
              (q(f"sum by (kind) (grok2api_media_cache_bytes{{{J}}})", "{{kind}}"),),
              unit="bytes", stacked=True),
    )),
    ("Client keys and usage records", (
        Panel("Key limit refusals", "Requests per second a client key's limit refused (429).",
              (q(f"sum by (limit) (rate(grok2api_gateway_key_limit_refusals_total{{{J}}}"
                 f"[{RI}]))", "{{limit}}"),), unit="reqps"),
        Panel("Usage-record backlog", "Records waiting in the Redis list (as last seen) and "
              "records buffered in the gateway processes.",
              (q(f"max(grok2api_gateway_usage_drain_backlog{{{J}}})", "Redis list"),
               q(f"sum(grok2api_gateway_usage_records_buffered{{{J}}})", "buffered"))),
        Panel("Usage records written and dropped", "Records handed on per second by stage, "
              "and records lost by reason.",
              (q(f"sum by (stage) (rate(grok2api_gateway_usage_records_written_total{{{J}}}"
                 f"[{RI}]))", "written {{stage}}"),
               q(f"sum by (reason) (rate(grok2api_gateway_usage_records_dropped_total{{{J}}}"
                 f"[{RI}]))", "dropped {{reason}}")), unit="ops"),
    )),
    ("Processes", (
        Panel("Targets up", "Scrape targets answering (1) or not (0).",
              (q(f"up{{{J}}}", "{{job}} {{instance}}"),)),
        Panel("CPU by service", "CPU seconds per second of each process.",
              (q(f"sum by (job, instance) (rate(process_cpu_seconds_total{{{J}}}[{RI}]))",
                 "{{job}} {{instance}}"),), unit="percentunit"),
        Panel("Memory by service", "Resident memory of each process.",
              (q(f"sum by (job, instance) (process_resident_memory_bytes{{{J}}})",
                 "{{job}} {{instance}}"),), unit="bytes"),
        Panel("Open file descriptors", "Open file descriptors of each process.",
              (q(f"sum by (job, instance) (process_open_fds{{{J}}})",
                 "{{job}} {{instance}}"),)),
    )),
)

WIDTH, HEIGHT, PER_ROW = 24, 8, 3


def panels() -> list[Panel]:
    return [panel for _, row in ROWS for panel in row]


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, object]:
    width = WIDTH // PER_ROW
    custom: dict[str, object] = {"fillOpacity": 10, "lineWidth": 1, "showPoints": "never"}
    if panel.stacked:
        custom["stacking"] = {"group": "A", "mode": "normal"}
    body: dict[str, object] = {
        "datasource": DS,
        "description": panel.description,
        "fieldConfig": {"defaults": {"unit": panel.unit, **(
            {"custom": custom} if panel.kind == "timeseries" else {})}, "overrides": []},
        "gridPos": {"h": HEIGHT, "w": width, "x": x, "y": y},
        "id": panel_id,
        "options": (
            {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
             "tooltip": {"mode": "multi", "sort": "desc"}}
            if panel.kind == "timeseries"
            else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                  "colorMode": "value", "graphMode": "area"}
        ),
        "targets": [
            {"datasource": DS, "expr": query.expr, "legendFormat": query.legend or "__auto",
             "range": True, "refId": chr(ord("A") + index)}
            for index, query in enumerate(panel.queries)
        ],
        "title": panel.title,
        "type": panel.kind,
    }
    return body


def dashboard() -> dict[str, object]:
    out: list[dict[str, object]] = []
    panel_id, y = 1, 0
    for title, row in ROWS:
        out.append({"collapsed": False, "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": y},
                    "id": panel_id, "panels": [], "title": title, "type": "row"})
        panel_id, y = panel_id + 1, y + 1
        for index, panel in enumerate(row):
            column = index % PER_ROW
            if index and column == 0:
                y += HEIGHT
            out.append(_panel_json(panel, panel_id, column * (WIDTH // PER_ROW), y))
            panel_id += 1
        y += HEIGHT
    return {
        "annotations": {"list": []},
        "description": "grok2api: traffic, latency, token pool, upstream, media, client keys "
                       "and processes (metric names: docs/metrics.md).",
        "editable": True,
        "graphTooltip": 1,
        "links": [],
        "panels": out,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["grok2api"],
        "templating": {"list": [
            {"current": {}, "hide": 0, "includeAll": False, "label": "Data source",
             "multi": False, "name": "datasource", "options": [], "query": "prometheus",
             "refresh": 1, "regex": "", "type": "datasource"},
            {"current": {}, "datasource": DS,
             "definition": 'label_values({__name__=~"grok2api_.+"}, job)',
             "hide": 0, "includeAll": True, "label": "Service (job)", "multi": True,
             "name": "job", "options": [],
             "query": {"qryType": 1, "query": 'label_values({__name__=~"grok2api_.+"}, job)',
                       "refId": "PrometheusVariableQueryEditor-VariableQuery"},
             "refresh": 2, "regex": "", "sort": 1, "type": "query"},
        ]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "grok2api",
        "uid": UID,
        "version": 1,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the file differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
