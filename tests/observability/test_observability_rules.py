"""The dashboard and the alert rules on their own: reproducible, valid PromQL, unit-tested
alerts, a runbook section per alert, and only documented metric names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from obs_files import (
    ALERTS,
    DASHBOARD,
    PROMTEST,
    RUNBOOK,
    SYNTHETIC_METRICS,
    alert_rules,
    all_expressions,
    dashboard,
    dashboard_targets,
    documented_names,
    family,
    generator,
    promtool,
    substitute,
)
from promql_selectors import uses


def test_the_dashboard_json_is_what_the_generator_makes() -> None:
    assert DASHBOARD.read_text(encoding="utf-8") == generator().render(), (
        "grafana/grok2api.json is stale: python deploy/observability/generate_dashboard.py")


def test_the_generator_check_mode_reports_a_stale_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    module = generator()
    stale = tmp_path / "grok2api.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(module, "OUTPUT", stale)
    assert module.main(["--check"]) == 1
    assert module.main([]) == 0
    assert module.main(["--check"]) == 0
    assert stale.read_text() == DASHBOARD.read_text()


def test_the_dashboard_has_a_datasource_and_a_job_variable() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    job = variables["job"]
    assert job["type"] == "query" and job["multi"] and job["includeAll"]
    assert job["datasource"]["uid"] == "${datasource}"
    assert "job)" in job["definition"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_every_dashboard_selector_follows_the_job_variable() -> None:
    for title, ref, expr in dashboard_targets():
        assert '$job' in expr
        for selector in uses(substitute(expr)).selectors:
            assert "job" in selector.labels, f"{title} {ref}: {selector.metric} ignores $job"


def test_panels_have_unique_ids_and_refids_and_do_not_overlap() -> None:
    board = dashboard()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                 for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_the_dashboard_covers_what_issue_17_asks_for() -> None:
    metrics = set()
    for _, _, expr in dashboard_targets():
        metrics |= {family(m) for m in uses(substitute(expr)).metrics}
    expected = {
        "grok2api_gateway_requests_total", "grok2api_gateway_request_duration_seconds",
        "grok2api_gateway_time_to_first_token_seconds", "grok2api_pool_accounts",
        "grok2api_pool_remaining_quota", "grok2api_pool_leases_in_flight",
        "grok2api_media_queue_depth", "grok2api_media_jobs_in_flight",
        "grok2api_media_jobs_finished_total", "grok2api_gateway_key_limit_refusals_total",
        "grok2api_gateway_usage_drain_backlog", "grok2api_upstream_requests_total",
        "process_cpu_seconds_total", "process_resident_memory_bytes",
    }
    assert expected <= metrics, expected - metrics
    expressions = " ".join(expr for _, _, expr in dashboard_targets())
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}, sum by (le) (rate(" \
               "grok2api_gateway_request_duration_seconds_bucket" in expressions
        assert f"histogram_quantile({quantile}, sum by (le) (rate(" \
               "grok2api_gateway_time_to_first_token_seconds_bucket" in expressions
    assert 'outcome="challenge"' in expressions
    assert "sum by (model)" in expressions and "sum by (tier, status)" in expressions


def test_every_name_is_in_docs_metrics_md() -> None:
    names, prefixes = documented_names()
    assert names and prefixes == {"grok2api_gateway_usage_"}
    for where, expr in all_expressions():
        for metric in uses(expr).metrics:
            name = family(metric)
            if name in SYNTHETIC_METRICS or name.startswith("process_"):
                continue
            assert name in names or name.startswith(tuple(prefixes)), (
                f"{where}: {metric} is not in docs/metrics.md")


def test_every_expression_parses_with_promtool(tmp_path: Path) -> None:
    """The dashboard's queries as recording rules: promtool parses each with Prometheus'
    own parser, then the alert file itself."""
    rules = [{"record": f"grok2api:dashboard_query:{n}", "expr": expr}
             for n, (_, _, expr) in enumerate(dashboard_targets())]
    rules_file = tmp_path / "dashboard_queries.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
        {**rule, "expr": substitute(rule["expr"])} for rule in rules]}]}))
    for path in (rules_file, ALERTS):
        done = subprocess.run([promtool(), "check", "rules", str(path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The parse check above can fail: the same call on one broken query does."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "x:y", "expr": "sum by (le (rate(grok2api_pool_accounts[1m]))"}]}]}))
    done = subprocess.run([promtool(), "check", "rules", str(broken)],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0


def test_alert_unit_tests_pass_with_promtool() -> None:
    done = subprocess.run([promtool(), "test", "rules", PROMTEST.name], cwd=PROMTEST.parent,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    spec = yaml.safe_load(PROMTEST.read_text(encoding="utf-8"))
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in spec["tests"]:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_every_alert_has_its_texts_and_a_runbook_section() -> None:
    runbook = RUNBOOK.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", runbook, re.MULTILINE | re.DOTALL))
    names = set()
    for rule in alert_rules():
        name = rule["alert"]
        names.add(name)
        annotations = rule["annotations"]
        for key in ("summary", "description", "runbook"):
            assert annotations.get(key, "").strip(), f"{name} has no {key}"
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert annotations["runbook"].startswith(f"RUNBOOK.md#{_slug(name)}:"), name
        assert name in sections, f"RUNBOOK.md has no section for {name}"
        assert "**What it means.**" in sections[name], name
        assert "**What to do.**" in sections[name], name
    assert set(sections) == names, "RUNBOOK.md sections without an alert"

