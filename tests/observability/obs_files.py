"""The observability files under deploy/observability, read the way the tests need them."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
DASHBOARD = OBS / "grafana" / "grok2api.json"
ALERTS = OBS / "prometheus" / "alerts.yaml"
RUNBOOK = OBS / "RUNBOOK.md"
PROMTEST = Path(__file__).resolve().parent / "alerts.promtest.yaml"
METRICS_DOC = ROOT / "docs" / "metrics.md"

# What Grafana fills in; the values only need to make the expression valid PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$job": ".+"}
# Labels Prometheus attaches to every scraped series (not in a service's /metrics).
TARGET_LABELS = {"job", "instance"}
# Series Prometheus makes itself for each target.
SYNTHETIC_METRICS = {"up"}


def promtool() -> str:
    """The promtool binary (Debian's `prometheus` package; .ci/run installs it)."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: apt-get install -y prometheus (.ci/run does)")
    return found


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("prometheus is missing: apt-get install -y prometheus (.ci/run does)")
    return found


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "grok2api_generate_dashboard", OBS / "generate_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_targets() -> list[tuple[str, str, str]]:
    """(panel title, refId, raw expression) of every query of every panel."""
    return [
        (panel["title"], target["refId"], target["expr"])
        for panel in dashboard()["panels"] if panel["type"] != "row"
        for target in panel["targets"]
    ]


def substitute(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr!r}"
    return expr


def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]


def all_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every dashboard query and alert rule, variables substituted."""
    out = [(f"panel {title!r} {ref}", substitute(expr))
           for title, ref, expr in dashboard_targets()]
    out += [(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()]
    return out


def documented_names() -> tuple[set[str], set[str]]:
    """Metric names in docs/metrics.md's tables, and the prefixes it names with a `*`."""
    text = METRICS_DOC.read_text(encoding="utf-8")
    names = set(re.findall(r"^\| `(grok2api_[a-z0-9_]+)`", text, re.MULTILINE))
    prefixes = set(re.findall(r"^\| `(grok2api_[a-z0-9_]+)\*`", text, re.MULTILINE))
    return names, prefixes


def family(sample_name: str) -> str:
    """The metric family of a sample name (a histogram's `_bucket`/`_sum`/`_count`)."""
    return re.sub(r"_(bucket|sum|count)$", "", sample_name)
