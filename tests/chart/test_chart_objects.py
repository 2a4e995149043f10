"""What the rendered objects say to each other: labels and selectors, ports, probes, pod
hardening, and the env wiring between components."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from chart_render import (
    CI_VALUES,
    NAMESPACE,
    RELEASE,
    ROOT,
    Rendered,
    container,
    env_of,
    matches,
    name,
)
from grok2api_settings.sections import ServerSettings
from token_pool import grpc_server

SCENARIOS = [path.name for path in CI_VALUES]
COMPONENTS = ("gateway", "token-pool", "media-worker", "admin", "operator")
# How long each process may take to stop after SIGTERM: its HTTP server drains open requests
# for server.shutdown_grace (uvicorn's fixed 3 s before that setting existed), the pool's gRPC
# server for GRACE_SECONDS beside it, a media worker's jobs for their 10 s grace beside it.
_grace = ServerSettings.model_fields.get("shutdown_grace")
HTTP_DRAIN = float(_grace.default) if _grace is not None else 3.0
DRAIN_SECONDS = {
    "gateway": HTTP_DRAIN,
    "token-pool": max(HTTP_DRAIN, grpc_server.GRACE_SECONDS),
    "media-worker": max(HTTP_DRAIN, 10.0),
    "admin": HTTP_DRAIN,
    "operator": 0.0,
}


def pods(rendered: Rendered) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, pod template) of every Deployment and StatefulSet."""
    return [(obj, obj["spec"]["template"]) for obj in rendered
            if obj["kind"] in {"Deployment", "StatefulSet"}]


@pytest.fixture(scope="module")
def default(render_ci: Callable[[str], Rendered]) -> Rendered:
    return render_ci("default-values.yaml")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_workload_selects_its_own_pods_by_stable_labels(
    render_ci: Callable[[str], Rendered], scenario: str
) -> None:
    for workload, template in pods(render_ci(scenario)):
        selector = workload["spec"]["selector"]["matchLabels"]
        assert matches(selector, template["metadata"]["labels"])
        assert "helm.sh/chart" not in selector and "app.kubernetes.io/version" not in selector
        assert selector["app.kubernetes.io/instance"] == RELEASE
        assert selector["app.kubernetes.io/component"] == workload["metadata"]["labels"][
            "app.kubernetes.io/component"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_object_carries_the_standard_labels(
    render_ci: Callable[[str], Rendered], scenario: str
) -> None:
    for obj in render_ci(scenario):
        labels = obj["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                    "app.kubernetes.io/managed-by", "app.kubernetes.io/version",
                    "helm.sh/chart"):
            assert key in labels, f"{obj['kind']} {obj['metadata']['name']} lacks {key}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_service_reaches_a_named_container_port_of_pods_it_selects(
    render_ci: Callable[[str], Rendered], scenario: str
) -> None:
    rendered = render_ci(scenario)
    for service in rendered.kinds("Service"):
        selected = [template for _, template in pods(rendered)
                    if matches(service["spec"]["selector"], template["metadata"]["labels"])]
        assert selected, f"Service {service['metadata']['name']} selects no pod"
        for template in selected:
            ports = {port["name"]: port["containerPort"]
                     for c in template["spec"]["containers"] for port in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in ports, (service["metadata"]["name"], port)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_budgets_autoscalers_and_policies_point_at_rendered_workloads(
    render_ci: Callable[[str], Rendered], scenario: str
) -> None:
    rendered = render_ci(scenario)
    templates = [template for _, template in pods(rendered)]
    for obj in rendered.kinds("PodDisruptionBudget") + rendered.kinds("NetworkPolicy"):
        selector = (obj["spec"].get("selector") or obj["spec"]["podSelector"])["matchLabels"]
        assert any(matches(selector, t["metadata"]["labels"]) for t in templates), obj
    for hpa in rendered.kinds("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        deployment = rendered.get(target["kind"], target["name"])
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_pod_is_hardened(render_ci: Callable[[str], Rendered], scenario: str) -> None:
    for workload, template in pods(render_ci(scenario)):
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in spec["containers"]:
            context = c["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
        # Only the operator needs the Kubernetes API.
        is_operator = workload["metadata"]["name"] == name("operator")
        assert spec.get("automountServiceAccountToken") is is_operator


def image_entrypoint() -> list[str]:
    """The ENTRYPOINT of the project's Dockerfile (its exec form)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    (line,) = [ln for ln in dockerfile.splitlines() if ln.startswith("ENTRYPOINT ")]
    return json.loads(line.removeprefix("ENTRYPOINT "))  # type: ignore[no-any-return]


def test_each_component_runs_its_target_of_the_one_image(default: Rendered) -> None:
    images = set()
    for component in COMPONENTS:
        c = container(default.deployment(component))
        images.add(c["image"])
        assert "command" not in c  # the image's ENTRYPOINT (tini) stays in charge of signals
        process = image_entrypoint() + c["args"]
        assert process[process.index("grok2api"):] == [
            "grok2api", "run", "--target", component, "--config", "/etc/grok2api/config.toml"]
    assert images == {"grok2api:0.1.0"}


def test_http_services_have_http_probes_and_the_pool_a_native_grpc_probe(
    default: Rendered,
) -> None:
    for component in ("gateway", "media-worker", "admin"):
        c = container(default.deployment(component))
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    pool = container(default.deployment("token-pool"))
    assert pool["readinessProbe"]["grpc"] == {"port": 50051}
    assert pool["startupProbe"]["grpc"] == {"port": 50051}
    assert pool["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # The operator serves only kopf's liveness endpoint, on SERVER_PORT; no readiness to
    # wait for (it has no Service), so a paused replica is never held back.
    operator = container(default.deployment("operator"))
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert "readinessProbe" not in operator and "startupProbe" not in operator
    [port] = operator["ports"]
    server_port = {e["name"]: e.get("value") for e in operator["env"]}["SERVER_PORT"]
    assert (port["name"], str(port["containerPort"])) == ("http", server_port)


@pytest.mark.parametrize("component", COMPONENTS)
def test_termination_grace_outlasts_the_drain(default: Rendered, component: str) -> None:
    spec = default.deployment(component)["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert spec["terminationGracePeriodSeconds"] > pre_stop + DRAIN_SECONDS[component]
    if component != "operator":
        assert pre_stop > 0, "a pod must leave the endpoints before it stops accepting"


def test_replicas_spread_across_nodes(default: Rendered) -> None:
    for component in COMPONENTS:
        template = default.deployment(component)["spec"]["template"]
        (constraint,) = template["spec"]["topologySpreadConstraints"]
        assert constraint["topologyKey"] == "kubernetes.io/hostname"
        assert matches(constraint["labelSelector"]["matchLabels"],
                       template["metadata"]["labels"])


def test_clients_reach_the_pool_through_its_headless_service(default: Rendered) -> None:
    service = default.get("Service", name("token-pool"))
    assert service["spec"]["clusterIP"] == "None"
    grpc_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc")
    expected = (f"dns:///{name('token-pool')}.{NAMESPACE}.svc.cluster.local:{grpc_port}")
    for component in COMPONENTS:
        assert env_of(default.deployment(component))["TOKEN_POOL_ADDR"]["value"] == expected
    # The pool binds the port of TOKEN_POOL_ADDR: its container port must be that one.
    pool_ports = {p["name"]: p["containerPort"]
                  for p in container(default.deployment("token-pool"))["ports"]}
    assert pool_ports["grpc"] == grpc_port


def test_secrets_reach_only_the_components_that_use_them(default: Rendered) -> None:
    secret = default.get("Secret", f"{RELEASE}-grok2api")
    users = {
        "GROK2API_SECURITY__ENCRYPTION_KEY": {"gateway", "token-pool", "admin"},
        "GROK2API_APP__APP_KEY": {"admin"},
        "REDIS_URL": {"gateway", "token-pool", "media-worker", "admin"},
        "SERVER_STORAGE_URL": {"gateway", "token-pool", "admin"},
    }
    for variable, components in users.items():
        holders = {c for c in COMPONENTS if variable in env_of(default.deployment(c))}
        assert holders == components, variable
        for component in components:
            ref = env_of(default.deployment(component))[variable].get("valueFrom")
            if ref is not None:  # the SQLite URL is a path, not a secret
                key = ref["secretKeyRef"]
                assert key["name"] == secret["metadata"]["name"]
                assert key["key"] in secret["stringData"], variable


def test_the_bundled_redis_is_the_url_every_component_gets(default: Rendered) -> None:
    secret = default.get("Secret", f"{RELEASE}-grok2api")
    redis = default.get("Service", name("redis"))
    assert secret["stringData"]["redis-url"] == f"redis://{name('redis')}:6379/0"
    assert redis["spec"]["ports"][0]["port"] == 6379
    statefulset = default.get("StatefulSet", name("redis"))
    assert statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"] == [
        "ReadWriteOnce"]


def test_sqlite_puts_every_store_user_on_the_pool_node(default: Rendered) -> None:
    claim = default.get("PersistentVolumeClaim", name("sqlite"))
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pool = default.deployment("token-pool")
    assert pool["spec"]["strategy"] == {"type": "Recreate"}
    pool_labels = pool["spec"]["template"]["metadata"]["labels"]
    for component in ("gateway", "admin"):
        spec = default.deployment(component)["spec"]["template"]["spec"]
        (term,) = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert matches(term["labelSelector"]["matchLabels"], pool_labels)
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["sqlite"]["persistentVolumeClaim"]["claimName"] == name("sqlite")
    env = env_of(pool)
    assert env["SERVER_STORAGE_TYPE"]["value"] == "local"
    assert env["SERVER_STORAGE_URL"]["value"] == "sqlite+aiosqlite:////data/db/grok2api.db"


def test_an_external_database_comes_from_the_secret(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("external-postgresql-values.yaml")
    assert not rendered.has("PersistentVolumeClaim", name("sqlite"))
    assert not rendered.kinds("StatefulSet")
    secret = rendered.get("Secret", f"{RELEASE}-grok2api")
    assert secret["stringData"]["storage-url"].startswith("postgresql://")
    assert secret["stringData"]["redis-url"] == "redis://:secret@redis.cache.svc:6379/0"
    pool = rendered.deployment("token-pool")
    assert pool["spec"]["replicas"] == 3
    assert "strategy" not in pool["spec"]
    assert env_of(pool)["SERVER_STORAGE_TYPE"]["value"] == "pgsql"
    gateway = env_of(rendered.deployment("gateway"))
    assert gateway["GROK2API_APP__API_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "api-key"
    assert "affinity" not in rendered.deployment("gateway")["spec"]["template"]["spec"]


def test_existing_secrets_replace_the_charts_own(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("external-mysql-existing-secrets-values.yaml")
    assert not rendered.kinds("Secret")
    env = env_of(rendered.deployment("admin"))
    refs = {k: v["valueFrom"]["secretKeyRef"] for k, v in env.items() if "valueFrom" in v}
    assert refs["SERVER_STORAGE_URL"] == {"name": "grok2api-db", "key": "url"}
    assert refs["REDIS_URL"] == {"name": "grok2api-redis", "key": "url"}
    assert refs["GROK2API_APP__APP_KEY"] == {"name": "grok2api-auth", "key": "admin-password"}
    assert refs["GROK2API_SECURITY__ENCRYPTION_KEY"]["name"] == "grok2api-auth"
    api_key = env_of(rendered.deployment("gateway"))["GROK2API_APP__API_KEY"]
    assert api_key["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env_of(rendered.deployment("admin"))["SERVER_STORAGE_TYPE"]["value"] == "mysql"


def test_media_is_one_shared_volume(default: Rendered) -> None:
    claim = default.get("PersistentVolumeClaim", name("media"))
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for component in ("gateway", "media-worker", "admin"):
        template = default.deployment(component)["spec"]["template"]
        mounts = {m["name"]: m["mountPath"] for m in container(default.deployment(component))[
            "volumeMounts"]}
        assert mounts["media"] == "/data/media"  # BlobStore: DATA_DIR/media
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["media"]["persistentVolumeClaim"]["claimName"] == name("media")
        assert env_of(default.deployment(component))["DATA_DIR"]["value"] == "/data"


def test_the_operator_gets_its_rules_file_and_its_peering(default: Rendered) -> None:
    import yaml
    from chart_render import CHART

    role = default.kinds("ClusterRole")[0]
    rules = yaml.safe_load((CHART / "files" / "operator-rbac-rules.yaml").read_text())
    assert role["rules"] == rules
    (binding,) = default.kinds("ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name("operator"),
                                    "namespace": NAMESPACE}]
    operator = default.deployment("operator")
    assert operator["spec"]["template"]["spec"]["serviceAccountName"] == name("operator")
    env = env_of(operator)
    (peering,) = default.kinds("ClusterKopfPeering")
    assert env["OPERATOR_PEERING"]["value"] == peering["metadata"]["name"]
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert not default.kinds("Role") and len(default.kinds("ClusterRole")) == 1


def test_the_admin_dashboard_reads_each_services_metrics(default: Rendered) -> None:
    urls = env_of(default.deployment("admin"))["GROK2API_TELEMETRY__METRICS_URLS"]["value"]
    for component in ("gateway", "token-pool", "media-worker"):
        assert f"http://{name(component)}:8000/metrics" in urls.split(",")


def test_disabled_components_leave_nothing_behind(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("minimal-values.yaml")
    components = {obj["metadata"]["labels"].get("app.kubernetes.io/component") for obj in rendered}
    assert components.isdisjoint({"media-worker", "admin", "operator"})
    assert not rendered.kinds("ClusterKopfPeering") and not rendered.kinds("ClusterRole")
    assert not rendered.kinds("PodDisruptionBudget")  # one replica each: nothing to budget


def test_autoscalers_follow_cpu_and_the_queue_depth(render_ci: Callable[[str], Rendered]) -> None:
    rendered = render_ci("autoscaling-values.yaml")
    gateway = rendered.get("HorizontalPodAutoscaler", name("gateway"))
    assert gateway["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert (gateway["spec"]["minReplicas"], gateway["spec"]["maxReplicas"]) == (3, 20)
    media = rendered.get("HorizontalPodAutoscaler", name("media-worker"))
    external = media["spec"]["metrics"][0]["external"]
    assert external["metric"]["name"] == "grok2api_media_queue_depth"  # docs/metrics.md
    assert external["metric"]["selector"]["matchLabels"] == {"state": "waiting"}
    budget = rendered.get("PodDisruptionBudget", name("media-worker"))
    assert budget["spec"]["maxUnavailable"] == 1


def test_keda_scales_media_workers_on_the_waiting_jobs(
    render_ci: Callable[[str], Rendered],
) -> None:
    rendered = render_ci("keda-values.yaml")
    (scaled,) = rendered.kinds("ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == name("media-worker")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert 'grok2api_media_queue_depth{state="waiting"' in trigger["metadata"]["query"]
    assert "replicas" not in rendered.deployment("media-worker")["spec"]
    assert not rendered.kinds("HorizontalPodAutoscaler")


def test_network_policies_open_only_what_the_issue_lists(
    render_ci: Callable[[str], Rendered],
) -> None:
    rendered = render_ci("network-policies-values.yaml")
    policies = {p["metadata"]["name"]: p["spec"] for p in rendered.kinds("NetworkPolicy")}
    pool_rule = next(r for r in policies[name("token-pool")]["ingress"]
                     if r["ports"][0]["port"] == "grpc")
    callers = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
               for peer in pool_rule["from"]}
    assert callers == {"gateway", "media-worker", "admin", "operator"}
    assert policies[name("operator")]["ingress"] == []
    for public in ("gateway", "admin"):
        first = policies[name(public)]["ingress"][0]
        ns = first["from"][0]["namespaceSelector"]["matchLabels"]
        assert ns == {"kubernetes.io/metadata.name": "ingress-nginx"}
    worker_rule = policies[name("media-worker")]["ingress"][0]
    assert worker_rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    redis_callers = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                     for peer in policies[name("redis")]["ingress"][0]["from"]}
    assert redis_callers == {"gateway", "token-pool", "media-worker", "admin"}
    assert all(p["policyTypes"] == ["Ingress"] for p in policies.values())


def test_ingress_and_route_let_streams_run(render_ci: Callable[[str], Rendered]) -> None:
    (ingress,) = render_ci("ingress-values.yaml").kinds("Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    backends = {rule["host"]: rule["http"]["paths"][0]["backend"]["service"]
                for rule in ingress["spec"]["rules"]}
    assert backends["api.example.com"] == {"name": name("gateway"), "port": {"name": "http"}}
    assert backends["admin.example.com"]["name"] == name("admin")
    (route,) = render_ci("httproute-values.yaml").kinds("HTTPRoute")
    (rule,) = route["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": name("gateway"), "port": 8000}]
    assert rule["timeouts"] == {"request": "3600s", "backendRequest": "3600s"}
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gateway-system"}]


def test_pods_restart_when_their_config_or_secret_changes(helm: Any) -> None:
    from chart_render import DEFAULTS

    before = helm.render([DEFAULTS]).deployment("gateway")
    after = helm.render([DEFAULTS], {"config": {"chat": {"stream": True}}}).deployment("gateway")
    rotated = helm.render([DEFAULTS], {"auth": {"adminPassword": "another"}}).deployment("gateway")
    annotations = [d["spec"]["template"]["metadata"]["annotations"]
                   for d in (before, after, rotated)]
    assert annotations[0]["checksum/config"] != annotations[1]["checksum/config"]
    assert annotations[0]["checksum/secret"] != annotations[2]["checksum/secret"]
