"""Values the chart must refuse: malformed ones by values.schema.json, impossible
combinations by the chart's own checks, each with a message that says what to change."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import DEFAULTS, TEST_KEY, Helm

SCHEMA_REFUSALS = [
    pytest.param({"auth": {"encryptionKey": "not-a-fernet-key"}}, "/auth/encryptionKey",
                 id="bad-key"),
    pytest.param({"gateway": {"replica": 3}}, "replica", id="misspelt-value"),
    pytest.param({"store": {"type": "oracle"}}, "/store/type", id="unknown-store"),
    pytest.param({"store": {"type": "postgresql", "url": "http://db"}}, "/store/url",
                 id="store-url-scheme"),
    pytest.param({"config": {"server": {"port": 9000}}}, "server", id="chart-owned-section"),
    pytest.param({"config": {"chatt": {"stream": True}}}, "chatt", id="unknown-section"),
    pytest.param({"gateway": {"port": 70000}}, "/gateway/port", id="port-range"),
    pytest.param({"mediaWorker": {"autoscaling": {"provider": "custom"}}}, "provider",
                 id="unknown-autoscaler"),
    pytest.param({"httpRoute": {"requestTimeout": "1 hour"}}, "requestTimeout",
                 id="route-duration"),
    pytest.param({"image": {"digest": "latest"}}, "digest", id="bad-digest"),
]


@pytest.mark.parametrize(("overrides", "named"), SCHEMA_REFUSALS)
def test_the_schema_rejects_malformed_values(
    helm: Helm, overrides: dict[str, Any], named: str
) -> None:
    error = helm.refusal([DEFAULTS], overrides)
    assert "values don't meet the specifications of the schema" in error
    assert named in error


COMBINATIONS = [
    pytest.param({"tokenPool": {"replicas": 2}},
                 "store.type sqlite allows one token-pool replica, not 2", id="sqlite-replicas"),
    pytest.param({"store": {"type": "postgresql"}},
                 "store.type postgresql needs a database", id="database-without-url"),
    pytest.param({"redis": {"bundled": False}},
                 "cannot run with in-process state", id="no-redis"),
    pytest.param({"media": {"persistence": {"accessModes": ["ReadWriteOnce"]}}},
                 "media.persistence.accessModes must include ReadWriteMany", id="unshared-media"),
    pytest.param({"httpRoute": {"enabled": True}}, "httpRoute.parentRefs", id="route-no-parent"),
    pytest.param({"ingress": {"enabled": True, "adminHost": "a.example"},
                  "admin": {"enabled": False}}, "admin.enabled is false", id="admin-host-no-admin"),
    pytest.param({"gateway": {"autoscaling": {"enabled": True, "minReplicas": 5,
                                              "maxReplicas": 2}}},
                 "maxReplicas must be at least", id="inverted-autoscaling"),
    pytest.param({"auth": {"adminPassword": "grok2api"}}, "published default", id="default-pw"),
    pytest.param({"config": {"app": {"app_key": "x"}}},
                 "config.app.app_key is not set through config", id="password-in-config"),
    pytest.param({"config": {"security": {"encryption_key": TEST_KEY}}},
                 "use auth.encryptionKey", id="key-in-config"),
    pytest.param({"config": {"security": {"cf_clearance": "x"}}}, "the admin panel",
                 id="clearance-in-config"),
]


@pytest.mark.parametrize(("overrides", "message"), COMBINATIONS)
def test_impossible_combinations_are_refused_with_what_to_change(
    helm: Helm, overrides: dict[str, Any], message: str
) -> None:
    assert message in helm.refusal([DEFAULTS], overrides)


def test_there_is_no_default_encryption_key(helm: Helm) -> None:
    error = helm.refusal([], {"auth": {"adminPassword": "chart-test-password"}})
    assert "auth.encryptionKey is required (there is no default key)" in error
    assert "auth.existingSecret" in error


def test_there_is_no_default_admin_password(helm: Helm) -> None:
    error = helm.refusal([], {"auth": {"encryptionKey": TEST_KEY}})
    assert "auth.adminPassword is required" in error


def test_an_existing_secret_stands_in_for_both(helm: Helm) -> None:
    rendered = helm.render([], {"auth": {"existingSecret": "mine"}})
    assert rendered.deployment("admin")


def test_a_refusal_never_echoes_a_secret(helm: Helm) -> None:
    error = helm.refusal([DEFAULTS], {"tokenPool": {"replicas": 2},
                                      "auth": {"adminPassword": "hunter2-unique"}})
    assert "hunter2-unique" not in error and TEST_KEY not in error
