"""The CRD manifest accepts well-formed GrokTokens and rejects malformed ones."""

from __future__ import annotations

import pathlib
from typing import Any

import jsonschema
import pytest
import yaml
from grok2api_operator import resources

CRD_PATH = (
    pathlib.Path(__file__).parents[2] / "deploy/helm/grok2api/crds/groktoken.yaml"
)


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return document


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def sample(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "grok2api.io/v1", "kind": "GrokToken", "metadata": {"name": "a"},
        "spec": {"credentialSecretRef": {"name": "a-sso", "key": "sso"}, **spec},
    }


def test_names_the_resource_the_operator_watches(crd: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == f"{resources.PLURAL}.{resources.GROUP}"
    assert crd["spec"]["group"] == resources.GROUP
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["kind"] == resources.KIND
    (version,) = crd["spec"]["versions"]
    assert version["name"] == resources.VERSION
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    # what `kubectl get groktokens` shows without -o wide
    assert [name for name, c in columns.items() if not c.get("priority")] == [
        "Tier", "State", "Remaining", "Age",
    ]
    assert columns["Remaining"]["jsonPath"] == ".status.remainingQuota"


def test_accepts_a_full_grok_token_with_status(crd: dict[str, Any]) -> None:
    token = sample(tier="heavy", enabled=False, tags=["x"], note="n")
    token["status"] = {
        "accountId": "acc-1", "state": "cooling", "tier": "heavy", "remainingQuota": 0,
        "message": "", "lastSynced": "2026-01-01T00:00:00+00:00", "operator": "op-0",
        "observedGeneration": 2,
        "conditions": [{"type": "Ready", "status": "False", "reason": "Cooling",
                        "message": "rate limited", "observedGeneration": 2,
                        "lastTransitionTime": "2026-01-01T00:00:00+00:00"}],
    }
    jsonschema.validate(token, schema_of(crd))


@pytest.mark.parametrize("bad", [
    {"spec": {}},
    {"spec": {"credentialSecretRef": {"key": "sso"}}},
    {"spec": {"credentialSecretRef": {"name": "a"}, "tier": "mega"}},
    {"spec": {"credentialSecretRef": {"name": "a"}, "enabled": "yes"}},
    {"spec": {"credentialSecretRef": {"name": "a"}, "tags": "a,b"}},
    {"spec": {"credentialSecretRef": {"name": "a"}}, "status": {"state": "sleeping"}},
    {"spec": {"credentialSecretRef": {"name": "a"}},
     "status": {"conditions": [{"type": "Ready", "status": "yes", "reason": "Active",
                                "lastTransitionTime": "2026-01-01T00:00:00Z"}]}},
    {"spec": {"credentialSecretRef": {"name": "a"}},
     "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
])
def test_rejects_malformed_grok_tokens(crd: dict[str, Any], bad: dict[str, Any]) -> None:
    token = {"apiVersion": "grok2api.io/v1", "kind": "GrokToken", "metadata": {"name": "a"}, **bad}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(token, schema_of(crd))


EXAMPLES = CRD_PATH.parents[1] / "examples"
CRDS = sorted(CRD_PATH.parent.glob("*.yaml"))


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the schema does not declare: what an API server with strict field validation
    refuses (jsonschema alone lets them through, and Kubernetes would silently prune them)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{path}.{key}")
            else:
                found += unknown_fields(item, schema["properties"][key], f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{i}]")
    return found


def grok_tokens_in(path: pathlib.Path) -> list[dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [d for d in documents if d.get("kind") == resources.KIND]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("groktoken*.yaml")), ids=lambda p: p.name)
def test_the_example_grok_tokens_are_valid(crd: dict[str, Any], path: pathlib.Path) -> None:
    tokens = grok_tokens_in(path)
    assert tokens, f"{path.name} holds no GrokToken"
    for token in tokens:
        jsonschema.validate(token, schema_of(crd))
        assert unknown_fields(token, schema_of(crd)) == []


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("invalid-groktoken-*.yaml")), ids=lambda p: p.name
)
def test_the_invalid_example_grok_tokens_are_refused(
    crd: dict[str, Any], path: pathlib.Path
) -> None:
    (token,) = grok_tokens_in(path)
    schema = schema_of(crd)
    refused = unknown_fields(token, schema) or list(
        jsonschema.Draft7Validator(schema).iter_errors(token)
    )
    assert refused, f"{path.name} passes the CRD's schema"


def test_there_are_invalid_examples_for_the_schema_to_refuse() -> None:
    assert len(list(EXAMPLES.glob("invalid-groktoken-*.yaml"))) >= 3


@pytest.mark.parametrize("path", CRDS, ids=lambda p: p.name)
def test_each_crd_is_a_valid_kubernetes_manifest(path: pathlib.Path) -> None:
    import kubernetes_validate

    document = yaml.safe_load(path.read_text())
    kubernetes_validate.validate(
        document, kubernetes_validate.latest_version(), strict=True
    )
    assert document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["type"] == "object"


def test_the_peering_crd_is_the_one_kopf_watches() -> None:
    peering = yaml.safe_load((CRD_PATH.parent / "kopfpeering.yaml").read_text())
    assert peering["metadata"]["name"] == "clusterkopfpeerings.kopf.dev"
    assert peering["spec"]["scope"] == "Cluster"
