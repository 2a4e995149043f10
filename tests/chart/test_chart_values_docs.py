"""values.yaml documents every value (`## @param <path> <what it does>`), and documents none
that does not exist; helm also installs (client-side dry run) with the defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from chart_render import CHART, DEFAULTS, Helm, Rendered

VALUES = CHART / "values.yaml"


def documented() -> dict[str, str]:
    params = re.findall(r"^\s*## @param (\S+) (.+)$", VALUES.read_text(), flags=re.M)
    return dict(params)


def leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaves(value, f"{path}.")
        else:
            yield path


def test_every_value_is_documented() -> None:
    docs = documented()
    for path in leaves(yaml.safe_load(VALUES.read_text())):
        parts = path.split(".")
        covering = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
        assert any(p in docs for p in covering), f"{path} has no ## @param line"


def test_every_documented_value_exists() -> None:
    values = yaml.safe_load(VALUES.read_text())
    for path, text in documented().items():
        node: Any = values
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"## @param {path}: no such value"
            node = node[part]
        assert len(text.split()) >= 3, f"## @param {path}: say what it does"


def test_helm_installs_the_defaults_in_a_client_side_dry_run(helm: Helm) -> None:
    result = helm.run("install", "gk", str(CHART), "--namespace", "llm", "--dry-run=client",
                      "-f", str(DEFAULTS))
    assert result.returncode == 0, result.stderr
    manifest = result.stdout.split("MANIFEST:", 1)[1].split("NOTES:", 1)[0]
    assert len(Rendered.parse(manifest).kinds("Deployment")) == 5
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "port-forward svc/gk-grok2api-gateway 8000" in notes
    assert "anyone who reaches the gateway" in notes  # no auth.apiKey in the defaults
