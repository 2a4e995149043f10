"""Every ci/ scenario lints strictly, renders, and every object it renders is valid.

Built-in kinds are checked by kubernetes-validate's strict schemas (unknown fields fail) for
the oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest it knows.
Custom resources: ClusterKopfPeering against its CRD in crds/; PrometheusRule by promtool
(tests/chart/test_monitoring.py); ServiceMonitor, ScaledObject and HTTPRoute have no schema
here (their CRDs belong to other projects and cannot be fetched) and are checked by the
assertions of the other test modules only.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from chart_render import CHART, CI_VALUES, Helm, Rendered

KUBE_VERSIONS = ("1.30", kubernetes_validate.latest_version())
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject", "HTTPRoute",
                "ClusterKopfPeering"}
SCENARIOS = [path.name for path in CI_VALUES]


@pytest.fixture(autouse=True, scope="module")
def schemas_read_once() -> Iterator[None]:
    """kubernetes-validate parses its schema files (the definitions are megabytes) on every
    call; the same few files serve every object here, so each is parsed once."""
    cached = functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents", cached)
        yield


def test_the_matrix_covers_the_scenarios_the_issue_names() -> None:
    wanted = {"default", "external-postgresql", "external-mysql-existing-secrets",
              "autoscaling", "keda", "monitoring", "network-policies", "ingress", "httproute",
              "minimal", "egress"}
    assert {name.removesuffix("-values.yaml") for name in SCENARIOS} == wanted


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lints_strictly(helm: Helm, scenario: str) -> None:
    result = helm.run("lint", "--strict", str(CHART), "-f", str(CHART / "ci" / scenario))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_built_in_object_is_valid_kubernetes(
    render_ci: Callable[[str], Rendered], scenario: str, version: str
) -> None:
    checked = 0
    for obj in render_ci(scenario):
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:  # a kind without a schema raises SchemaNotFoundError: nothing slips by unchecked
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']} at {where}: {exc.message}")
        checked += 1
    assert checked > 10


def test_the_peering_object_fits_its_crd(render_ci: Callable[[str], Rendered]) -> None:
    crd = yaml.safe_load((CHART / "crds" / "kopfpeering.yaml").read_text())
    (version,) = crd["spec"]["versions"]
    (peering,) = render_ci("default-values.yaml").kinds("ClusterKopfPeering")
    assert peering["apiVersion"] == f"{crd['spec']['group']}/{version['name']}"
    jsonschema.validate(peering, version["schema"]["openAPIV3Schema"])


def test_installs_both_crds_with_the_release(helm: Helm) -> None:
    result = helm.run(*helm.template_args([CHART / "ci" / "default-values.yaml"]),
                      "--include-crds")
    assert result.returncode == 0, result.stderr
    names = {obj["metadata"]["name"] for obj in Rendered.parse(result.stdout)
             if obj["kind"] == "CustomResourceDefinition"}
    assert names == {"groktokens.grok2api.io", "clusterkopfpeerings.kopf.dev"}


@pytest.mark.parametrize("crd_file", sorted((CHART / "crds").glob("*.yaml")))
def test_the_crds_are_valid_kubernetes(crd_file: pathlib.Path) -> None:
    crd: dict[str, Any] = yaml.safe_load(crd_file.read_text())
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(crd, version, strict=True)


def test_strict_validation_catches_a_misplaced_field(
    render_ci: Callable[[str], Rendered],
) -> None:
    deployment = render_ci("default-values.yaml").kinds("Deployment")[0]
    spoiled = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(spoiled, KUBE_VERSIONS[-1], strict=True)
