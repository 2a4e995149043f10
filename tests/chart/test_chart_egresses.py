"""Egresses in the chart: `config.egress` reaches config.toml, `egresses.declared` becomes a
Secret the token pool reads at start (`egress.declared_file`), `egresses.existingSecret`
replaces it, and malformed egresses are refused before anything is applied."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from chart_render import DEFAULTS, Helm, Rendered, name
from grok2api_settings import loading
from token_pool.egress import declared

DECLARED_FILE = "GROK2API_EGRESS__DECLARED_FILE"


def _pool_container(rendered: Rendered) -> dict[str, Any]:
    return rendered.deployment("token-pool")["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container["env"]}


def _egress_volume(rendered: Rendered) -> dict[str, Any] | None:
    volumes = rendered.deployment("token-pool")["spec"]["template"]["spec"]["volumes"]
    return next((v for v in volumes if v["name"] == "egresses"), None)


def test_the_egress_settings_reach_config_toml(
    render_ci: Callable[[str], Rendered], tmp_path: pathlib.Path
) -> None:
    config = render_ci("egress-values.yaml").get("ConfigMap", "gk-grok2api")
    path = tmp_path / "config.toml"
    path.write_text(config["data"]["config.toml"])

    egress = loading.load(config_file=path, environ={}).settings.egress

    assert egress.solver_url == "http://flaresolverr.tools.svc:8191"
    assert egress.clearance_refresh_seconds == 1200


def test_declared_egresses_are_a_secret_the_token_pool_reads_at_start(
    render_ci: Callable[[str], Rendered],
) -> None:
    rendered = render_ci("egress-values.yaml")
    secret = rendered.get("Secret", name("egresses"))

    entries = declared.parse(secret["stringData"]["egresses.yaml"])

    assert [(e.name, e.proxy, e.tags, e.max_inflight) for e in entries] == [
        ("office", "http://user:chart-test-pass@10.0.0.5:3128", ("team-a",), 8),
        ("tokyo", "socks5h://10.0.0.6:1080", (), 0),
    ]
    assert entries[1].clearance == "cf_clearance=chart-test-cookie"
    container = _pool_container(rendered)
    assert _env(container)[DECLARED_FILE] == "/etc/grok2api-egresses/egresses.yaml"
    assert {"name": "egresses", "mountPath": "/etc/grok2api-egresses", "readOnly": True} in (
        container["volumeMounts"]
    )
    volume = _egress_volume(rendered)
    assert volume is not None and volume["secret"]["secretName"] == name("egresses")
    annotations = rendered.deployment("token-pool")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/egresses" in annotations  # a changed list restarts the pool


def test_proxy_credentials_and_cookies_stay_in_the_secret(
    render_ci: Callable[[str], Rendered],
) -> None:
    rendered = render_ci("egress-values.yaml")
    for obj in rendered:
        if obj["kind"] == "Secret":
            continue
        text = repr(obj)
        assert "chart-test-pass" not in text and "chart-test-cookie" not in text, obj["kind"]


def test_only_the_token_pool_reads_the_egresses(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("egress-values.yaml")
    for deployment in rendered.kinds("Deployment"):
        if deployment["metadata"]["name"] == name("token-pool"):
            continue
        env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
        assert DECLARED_FILE not in env, deployment["metadata"]["name"]


def test_an_existing_secret_replaces_the_charts(helm: Helm) -> None:
    rendered = helm.render([DEFAULTS], {"egresses": {
        "existingSecret": "my-egresses", "existingSecretKey": "list.json",
    }})  # fmt: skip

    assert not rendered.has("Secret", name("egresses"))
    assert _env(_pool_container(rendered))[DECLARED_FILE] == "/etc/grok2api-egresses/list.json"
    volume = _egress_volume(rendered)
    assert volume is not None
    assert volume["secret"]["secretName"] == "my-egresses"
    assert volume["secret"]["items"] == [{"key": "list.json", "path": "list.json"}]


def test_without_egresses_nothing_is_mounted(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("default-values.yaml")

    assert not rendered.has("Secret", name("egresses"))
    assert DECLARED_FILE not in _env(_pool_container(rendered))
    assert _egress_volume(rendered) is None


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        pytest.param({"name": "x", "proxy": "ftp://10.0.0.5:21"}, "proxy", id="proxy-scheme"),
        pytest.param({"name": "x", "colour": "red"}, "colour", id="unknown-field"),
        pytest.param({"name": "x", "max_inflight": -1}, "max_inflight", id="negative-cap"),
        pytest.param({"name": ""}, "name", id="empty-name"),
    ],
)
def test_the_schema_refuses_malformed_egresses(
    helm: Helm, entry: dict[str, Any], named: str
) -> None:
    error = helm.refusal([DEFAULTS], {"egresses": {"declared": [entry]}})

    assert "values don't meet the specifications of the schema" in error
    assert named in error


def test_the_declared_file_setting_belongs_to_the_chart(helm: Helm) -> None:
    error = helm.refusal([DEFAULTS], {"config": {"egress": {"declared_file": "/x.yaml"}}})

    assert "config.egress.declared_file is not set through config" in error
    assert "egresses.declared or egresses.existingSecret" in error
