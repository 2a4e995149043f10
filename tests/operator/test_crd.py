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
