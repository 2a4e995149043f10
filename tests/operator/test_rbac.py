"""The operator's RBAC rules (the chart's ClusterRole) are exactly the API calls it makes.

Every request the operator replicas send to the emulator during a full lifecycle (two
peered replicas, create, update, Secret rotation, status write-back, Events, deletion,
handover) is turned into the (verb, group, resource) RBAC would check, then compared with
``deploy/helm/grok2api/files/operator-rbac-rules.yaml``: every call allowed by a rule, and
every rule used.
"""

from __future__ import annotations

import base64
import pathlib
from collections.abc import Iterable
from typing import Any

import aiohttp
import kmock
import yaml
from conftest import (
    SECRETS,
    TEST_USER_AGENT,
    TOKENS,
    create_token,
    eventually,
    get_token,
    grok_token,
    put_secret,
)

RULES_PATH = (
    pathlib.Path(__file__).parents[2] / "deploy/helm/grok2api/files/operator-rbac-rules.yaml"
)
MERGE = {"Content-Type": "application/merge-patch+json"}
Call = tuple[str, str, str]  # verb, API group ("" for core), resource[/subresource]


def rbac_call(method: str, path: str, params: dict[str, str]) -> Call | None:
    """The RBAC attributes of one request, or None for discovery (not a resource)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
        rest = rest[2:]  # namespaced: drop namespaces/<ns>
    if not rest:
        return None
    resource, named, sub = rest[0], len(rest) >= 2, rest[2] if len(rest) >= 3 else ""
    verb = {
        "POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete",
    }.get(method) or (  # GET
        "watch" if params.get("watch") in ("true", "1") else "get" if named else "list"
    )  # fmt: skip
    return verb, group, f"{resource}/{sub}" if sub else resource


def allowed_by(call: Call, rules: Iterable[dict[str, Any]]) -> list[int]:
    verb, group, resource = call
    return [
        i for i, rule in enumerate(rules)
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
    ]  # fmt: skip


def test_maps_requests_to_rbac_attributes() -> None:
    assert rbac_call("GET", "/api/v1/namespaces/ns1/secrets/a", {}) == ("get", "", "secrets")
    assert rbac_call("GET", "/apis/kopf.dev/v1/clusterkopfpeerings", {"watch": "true"}) == (
        "watch", "kopf.dev", "clusterkopfpeerings",
    )
    assert rbac_call("PATCH", "/apis/grok2api.io/v1/namespaces/n/groktokens/t/status", {}) == (
        "patch", "grok2api.io", "groktokens/status",
    )
    assert rbac_call("GET", "/api/v1/namespaces", {}) == ("list", "", "namespaces")
    assert rbac_call("GET", "/apis/grok2api.io/v1", {}) is None  # discovery


async def test_the_operator_uses_exactly_its_rbac_rules(
    api: aiohttp.ClientSession, k8s: kmock.KubernetesEmulator, replicas: Any
) -> None:
    first = await replicas("operator-a", priority=200)
    second = await replicas("operator-b", priority=100)
    await put_secret(api, name="r1-sso", data={"sso": "sso-rbac-one"})
    await create_token(api, grok_token("r1", tier="basic"))
    await eventually(lambda: _status(api, "r1", lambda s: s.get("state") == "active"))
    first_account = (await _status(api, "r1", bool))["accountId"]

    async with api.patch(f"{TOKENS}/r1", json={"spec": {"note": "edited"}}, headers=MERGE):
        pass
    rotated = {"data": {"sso": base64.b64encode(b"sso-rbac-two").decode()}}
    async with api.patch(f"{SECRETS}/r1-sso", json=rotated, headers=MERGE):
        pass
    await eventually(lambda: _status(api, "r1", lambda s: s.get("accountId") != first_account))

    await first.stop()  # the second replica takes over
    await eventually(lambda: _status(api, "r1", lambda s: s.get("operator") == "operator-b"))
    async with api.delete(f"{TOKENS}/r1"):
        pass

    async def gone() -> bool:
        return await get_token(api, "r1") is None

    await eventually(gone)
    await second.stop()

    rules: list[dict[str, Any]] = yaml.safe_load(RULES_PATH.read_text())
    calls = set()
    for request in list(k8s):
        if request.headers.get("User-Agent") == TEST_USER_AGENT:
            continue
        call = rbac_call(str(request.method).upper().rsplit(".", 1)[-1], request.url.path,
                         dict(request.params))  # fmt: skip
        if call is not None:
            calls.add(call)

    denied = sorted(c for c in calls if not allowed_by(c, rules))
    assert denied == [], f"calls the RBAC rules do not allow: {denied}"
    used = {i for c in calls for i in allowed_by(c, rules)}
    unused = [rules[i] for i in range(len(rules)) if i not in used]
    assert unused == [], f"rules no call needed (excess privilege): {unused}"
    for rule in rules:  # and no verb in a rule that nothing used
        for verb in rule["verbs"]:
            assert any(
                c[0] == verb and c[1] in rule["apiGroups"] and c[2] in rule["resources"]
                for c in calls
            ), f"verb {verb} of {rule} never used"


async def _status(api: aiohttp.ClientSession, name: str, check: Any) -> dict[str, Any] | None:
    status = ((await get_token(api, name)) or {}).get("status") or {}
    return status if check(status) else None
