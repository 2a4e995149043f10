"""The chart README's commands are the tested ones: each `helm install` / `helm upgrade` runs
here as `helm template` with the same arguments, the Secrets it tells users to create are the
ones the rendered pods read, and the GrokToken examples it applies fit the CRD."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from chart_render import CHART, ROOT, TEST_KEY, Helm, Rendered

README = CHART / "README.md"
# What the README's `export` lines would hold (the key's format is checked by the schema).
ENV = {"ENCRYPTION_KEY": TEST_KEY, "ADMIN_PASSWORD": "readme-password", "API_KEY": "sk-readme"}
# Flags of a real install that `helm template` has no use for.
INSTALL_ONLY = {"--create-namespace", "--wait", "--atomic", "--install"}


def commands(prefix: str, readme: Path = README) -> list[list[str]]:
    """The README's shell commands starting with ``prefix``, continuations joined."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", readme.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith(prefix):
                expanded = re.sub(r"\$([A-Z_]+)", lambda m: ENV[m.group(1)], line)
                found.append(shlex.split(expanded))
    return found


def as_template(command: list[str]) -> list[str]:
    verb, release, chart, *rest = command[1:]
    assert verb in {"install", "upgrade"}
    return ["template", release, chart, *(arg for arg in rest if arg not in INSTALL_ONLY)]


HELM_COMMANDS = commands("helm ")
# The project README's Kubernetes section shows the first install too.
PROJECT_HELM_COMMANDS = commands("helm ", ROOT / "README.md")


def test_the_readme_shows_install_upgrade_scaling_and_monitoring() -> None:
    verbs = [command[1] for command in HELM_COMMANDS]
    assert verbs.count("install") == 2 and verbs.count("upgrade") == 3
    flat = " ".join(" ".join(command) for command in HELM_COMMANDS)
    for shown in ("autoscaling", "monitoring.serviceMonitor.enabled=true", "values-production"):
        assert shown in flat


@pytest.mark.parametrize("command", HELM_COMMANDS, ids=lambda c: " ".join(c[1:3]))
def test_each_helm_command_of_the_readme_renders(helm: Helm, command: list[str]) -> None:
    result = helm.run(*as_template(command), cwd=ROOT)
    assert result.returncode == 0, f"{shlex.join(command)}\n{result.stderr}"
    rendered = Rendered.parse(result.stdout)
    assert len(rendered.kinds("Deployment")) == 5


def test_the_project_readme_shows_the_chart_readmes_first_install() -> None:
    assert PROJECT_HELM_COMMANDS == HELM_COMMANDS[:1]


@pytest.mark.parametrize("command", PROJECT_HELM_COMMANDS, ids=lambda c: " ".join(c[1:3]))
def test_each_helm_command_of_the_project_readme_renders(helm: Helm, command: list[str]) -> None:
    result = helm.run(*as_template(command), cwd=ROOT)
    assert result.returncode == 0, f"{shlex.join(command)}\n{result.stderr}"
    assert len(Rendered.parse(result.stdout).kinds("Deployment")) == 5


def test_the_secrets_the_readme_creates_are_the_ones_the_pods_read(helm: Helm) -> None:
    created: dict[str, set[str]] = {}
    for command in commands("kubectl -n grok2api create secret generic"):
        name = command[6]
        created[name] = {arg.split("=", 2)[1] for arg in command[7:]
                         if arg.startswith("--from-literal=")}
    production = next(c for c in HELM_COMMANDS if "values-production" in " ".join(c))
    result = helm.run(*as_template(production), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    read = set()
    for deployment in Rendered.parse(result.stdout).kinds("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    read.add((ref["name"], ref["key"]))
    assert read == {(name, key) for name, keys in created.items() for key in keys}


def grok_tokens() -> list[tuple[str, dict[str, Any]]]:
    applied = [command[-1] for command in commands("kubectl -n grok2api apply -f")]
    assert applied, "the README applies no example"
    found = []
    for path in applied:
        for document in yaml.safe_load_all((ROOT / path).read_text()):
            if document["kind"] == "GrokToken":
                found.append((path, document))
    return found


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load((CHART / "crds" / "groktoken.yaml").read_text())
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def test_every_example_the_readme_applies_is_in_examples_and_fits_the_crd() -> None:
    examples = {str(p.relative_to(ROOT)) for p in (CHART / "examples").glob("groktoken*.yaml")}
    tokens = grok_tokens()
    assert {path for path, _ in tokens} == examples
    for path, token in tokens:
        assert token["apiVersion"] == "grok2api.io/v1", path
        jsonschema.validate(token, crd_schema())


def test_an_example_token_refers_to_its_secret_in_the_same_file() -> None:
    documents = list(yaml.safe_load_all((CHART / "examples" / "groktoken.yaml").read_text()))
    secret = next(d for d in documents if d["kind"] == "Secret")
    token = next(d for d in documents if d["kind"] == "GrokToken")
    ref = token["spec"]["credentialSecretRef"]
    assert ref["name"] == secret["metadata"]["name"]
    assert ref["key"] in secret["stringData"]


@pytest.mark.parametrize("broken", [
    pytest.param({"tier": "platinum"}, id="unknown-tier"),
    pytest.param({"credentialSecretRef": {"key": "sso"}}, id="secret-without-name"),
    pytest.param({"enabled": "yes"}, id="enabled-not-boolean"),
])
def test_a_broken_example_would_be_rejected(broken: dict[str, Any]) -> None:
    (_, token), *_ = grok_tokens()
    spoiled = {**token, "spec": {**token["spec"], **broken}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spoiled, crd_schema())
