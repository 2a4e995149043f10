"""The chart ships the project's own dashboard, alerts and settings: the monitoring objects
carry deploy/observability's files unchanged, and the rendered config.toml is one the
services load without a warning."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from collections.abc import Callable

import pytest
import yaml
from chart_render import CHART, ROOT, Helm, Rendered, name
from grok2api_settings import loading, model

SOURCES = {
    "grafana-dashboard.json": ROOT / "deploy/observability/grafana/grok2api.json",
    "prometheus-alerts.yaml": ROOT / "deploy/observability/prometheus/alerts.yaml",
}


@pytest.fixture(scope="module")
def monitoring(render_ci: Callable[[str], Rendered]) -> Rendered:
    return render_ci("monitoring-values.yaml")


@pytest.mark.parametrize("copy", sorted(SOURCES))
def test_the_charts_copies_match_deploy_observability(copy: str) -> None:
    shipped = CHART / "files" / copy
    assert shipped.read_bytes() == SOURCES[copy].read_bytes(), (
        f"{shipped.relative_to(ROOT)} differs from its source: run `make chart-files`")


def test_the_prometheus_rule_is_the_alerts_file_and_promtool_accepts_it(
    monitoring: Rendered, tmp_path: pathlib.Path
) -> None:
    (rule,) = monitoring.kinds("PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == yaml.safe_load(SOURCES["prometheus-alerts.yaml"].read_text())
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: apt-get install -y prometheus (.ci/run does)")
    rendered = tmp_path / "rules.yaml"
    rendered.write_text(yaml.safe_dump(rule["spec"]))
    done = subprocess.run([promtool, "check", "rules", str(rendered)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_configmap_is_the_dashboard_for_grafanas_sidecar(
    monitoring: Rendered,
) -> None:
    board = monitoring.get("ConfigMap", "gk-grok2api-dashboard")
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["grok2api.json"]) == json.loads(
        SOURCES["grafana-dashboard.json"].read_text())


def test_the_service_monitor_scrapes_every_service_with_metrics(monitoring: Rendered) -> None:
    (monitor,) = monitoring.kinds("ServiceMonitor")
    assert "jobLabel" not in monitor["spec"]  # each job is its Service's name
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    selected = [s for s in monitoring.kinds("Service")
                if all(s["metadata"]["labels"].get(k) == v
                       for k, v in monitor["spec"]["selector"]["matchLabels"].items())
                and s["metadata"]["labels"]["app.kubernetes.io/component"]
                in monitor["spec"]["selector"]["matchExpressions"][0]["values"]]
    jobs = {s["metadata"]["name"] for s in selected}
    assert jobs == {name(c) for c in ("gateway", "token-pool", "media-worker", "admin")}
    # The pool alert selects job=~".*token-pool.*" (deploy/observability/prometheus/alerts.yaml).
    assert any("token-pool" in job for job in jobs)
    for service in selected:
        assert "http" in {p["name"] for p in service["spec"]["ports"]}


def test_nothing_of_monitoring_renders_by_default(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("default-values.yaml")
    assert not rendered.kinds("ServiceMonitor") and not rendered.kinds("PrometheusRule")
    assert not rendered.has("ConfigMap", "gk-grok2api-dashboard")


@pytest.mark.parametrize("scenario", ["default-values.yaml", "monitoring-values.yaml"])
def test_the_rendered_config_toml_loads_without_warnings(
    render_ci: Callable[[str], Rendered], scenario: str, tmp_path: pathlib.Path
) -> None:
    config = render_ci(scenario).get("ConfigMap", "gk-grok2api")["data"]["config.toml"]
    path = tmp_path / "config.toml"
    path.write_text(config)
    loaded = loading.load(config_file=path, environ={})
    assert loaded.warnings == ()
    assert loaded.settings.log.format == "json"


def test_every_settings_section_can_be_set_from_values(helm: Helm, tmp_path: pathlib.Path) -> None:
    from chart_render import DEFAULTS

    chart_owned = {"server", "services"}  # env from the chart: ports, store, Redis, pool
    schema = json.loads((CHART / "values.schema.json").read_text())
    sections = set(schema["properties"]["config"]["properties"])
    assert sections == set(model.section_models()) - chart_owned
    overrides = {"config": {"chat": {"stream": True}, "token": {"max_inflight_per_account": 2},
                            "network": {"base_url": "http://sim.local"}}}
    config = helm.render([DEFAULTS], overrides).get("ConfigMap", "gk-grok2api")
    path = tmp_path / "config.toml"
    path.write_text(config["data"]["config.toml"])
    settings = loading.load(config_file=path, environ={}).settings
    assert settings.chat.stream is True
    assert settings.token.max_inflight_per_account == 2
    assert settings.network.base_url == "http://sim.local"
