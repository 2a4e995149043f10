"""The dashboard and the alerts against the real services.

The services run split as the Helm chart runs them (token-pool, gateway, media-worker, admin
sharing Redis, each its own process with its own `/metrics`) against the simulator. After
real traffic (a chat, a streamed chat, a Cloudflare challenge, upstream failures, an unknown
model, an image job, a client key over its limit):

1. every metric name and label that a panel or an alert uses exists in the scraped
   `/metrics` of the services (a renamed metric or label fails here);
2. a loopback Prometheus (temporary TSDB) scrapes the services and loads the alert rules:
   every panel query returns data (except the few listed with the reason they may not), and
   every alert rule evaluates without an error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from cryptography.fernet import Fernet
from curl_cffi import requests as http
from grok2api_cluster.cluster import free_port
from grok2api_cluster.redis_claims import claimed_database
from grok_sim.testing import SimHandle, SimulatorProcess
from obs_files import (
    ALERTS,
    SYNTHETIC_METRICS,
    TARGET_LABELS,
    alert_rules,
    all_expressions,
    dashboard_targets,
    prometheus_binary,
    substitute,
)
from prometheus_client.parser import text_string_to_metric_families
from promql_selectors import uses

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# Panel queries allowed to be empty after the traffic below, and why.
MAY_BE_EMPTY = {
    ("Usage records written and dropped", "B"): "no record is lost",
}
ACCOUNTS = {"obs-super-1": "super", "obs-super-2": "super", "obs-basic-1": "basic",
            "obs-basic-2": "basic"}
USER = [{"role": "user", "content": "hello metrics"}]
WAIT_SECONDS = 90.0  # how long to wait for data to show up (a deadline, not a measurement)


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path):
        self.name = name
        self.log = cwd / f"{name}.log"
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self._out,
                                     stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def wait_until(check: Any, what: str, process: Process | None = None) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.proc.poll() is not None:
            raise AssertionError(f"{process.name} exited: {process.output()}")
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.25)
    detail = process.output() if process is not None else ""
    raise AssertionError(f"{what} did not happen (last: {last!r}) {detail}")


def http_ok(url: str) -> bool:
    return http.get(url, timeout=2).status_code == 200


def grpc_serving(address: str) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=1)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@dataclass
class Deployment:
    gateway: str
    metrics_urls: dict[str, str]  # job -> http://127.0.0.1:PORT/metrics
    keys: dict[str, str]  # name -> secret
    sim: SimHandle
    prometheus: str


def add_accounts(env: dict[str, str]) -> None:
    """``grok2api tokens add --local`` (in this process, exactly ``env`` as its environment)
    before the token pool starts: its periodic usage refresh finds them due in its first
    round, at start, rather than a minute later in its next."""
    from grok2api_cli import main
    from typer.testing import CliRunner

    environment: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    environment.update(env)
    for credential, tier in ACCOUNTS.items():
        result = CliRunner().invoke(
            main.app, ["tokens", "add", credential, "--tier", tier, "--local"], env=environment
        )
        assert result.exit_code == 0, (result.output, result.exception)


def create_key(env: dict[str, str], cwd: Path, name: str, *options: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "grok2api_cli.main", "keys", "create", name, "--json", *options],
        env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout.strip().splitlines()[-1])["secret"])


def prometheus_config(path: Path, targets: dict[str, str]) -> None:
    rules = path.parent / "alerts.yaml"
    rules.write_text(ALERTS.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "scrape_timeout": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [address]}]}
            for job, address in targets.items()
        ],
    }))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    prometheus = prometheus_binary()
    work = tmp_path_factory.mktemp("observability")
    (work / "data").mkdir()
    processes: list[Process] = []
    with SimulatorProcess() as sim, claimed_database() as redis_url:
        for credential, tier in ACCOUNTS.items():
            sim.add_account(credential, tier=tier, quotas={"auto": 500, "fast": 500})
        pool_addr = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
        env.update(
            DATA_DIR=str(work / "data"), LOG_FILE_ENABLED="false", SERVER_HOST="127.0.0.1",
            GROK2API_NETWORK__BASE_URL=sim.base_url, GROK2API_NETWORK__ASSETS_URL=sim.base_url,
            GROK2API_NETWORK__ACCOUNTS_URL=sim.base_url,
            GROK2API_SECURITY__ENCRYPTION_KEY=Fernet.generate_key().decode(),
            GROK2API_TOKEN__AUTO_REFRESH="true", GROK2API_APP__APP_KEY="obs-admin-password",
            GROK2API_USAGE__FLUSH_INTERVAL_SECONDS="0.2",
            REDIS_URL=redis_url, TOKEN_POOL_ADDR=pool_addr, SERVER_STORAGE_TYPE="local",
        )
        ports = {name: free_port() for name in ("token-pool", "gateway", "media-worker",
                                                "admin")}

        def start(target: str) -> Process:
            process = Process(target, [sys.executable, "-m", "grok2api_cli.main", "run",
                                       "--target", target],
                              {**env, "SERVER_PORT": str(ports[target])}, work)
            processes.append(process)
            return process

        try:
            add_accounts(env)
            pool = start("token-pool")
            wait_until(lambda: grpc_serving(pool_addr), "the token pool serving", pool)
            keys = {"main": create_key(env, work, "obs-main"),
                    "limited": create_key(env, work, "obs-limited", "--rpm", "1"),
                    "no_account": create_key(env, work, "obs-no-account", "--tags",
                                             "no-such-tag")}
            for target in ("gateway", "media-worker", "admin"):
                process = start(target)
            for target in ports:
                process = next(p for p in processes if p.name == target)
                wait_until(lambda t=target: http_ok(f"http://127.0.0.1:{ports[t]}/readyz"),
                           f"{target} ready", process)
            prom_port = free_port()
            config = work / "prometheus" / "prometheus.yml"
            config.parent.mkdir()
            prometheus_config(config, {f"grok2api-{name}": f"127.0.0.1:{port}"
                                       for name, port in ports.items()})
            prom = Process("prometheus", [
                prometheus, f"--config.file={config}",
                f"--storage.tsdb.path={work / 'prometheus' / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--storage.tsdb.retention.time=1h", "--log.level=warn",
            ], os.environ.copy(), work / "prometheus")
            processes.append(prom)
            prom_url = f"http://127.0.0.1:{prom_port}"
            wait_until(lambda: http_ok(f"{prom_url}/-/ready"), "Prometheus ready", prom)
            yield Deployment(
                gateway=f"http://127.0.0.1:{ports['gateway']}",
                metrics_urls={f"grok2api-{n}": f"http://127.0.0.1:{p}/metrics"
                              for n, p in ports.items()},
                keys=keys, sim=sim, prometheus=prom_url,
            )
        finally:
            for process in reversed(processes):
                process.stop()


def send_traffic(deployment: Deployment) -> dict[str, int]:
    """What the dashboard shows after a short day: its statuses, for the assertions."""
    statuses: dict[str, int] = {}
    client = openai.OpenAI(base_url=f"{deployment.gateway}/v1",
                           api_key=deployment.keys["main"], max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="grok-4", messages=USER)
    assert reply.choices[0].message.content
    chunks = list(client.chat.completions.create(model="grok-4", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # One Cloudflare challenge: the gateway moves the request to another account.
    deployment.sim.set_fault("cf", times=1)
    client.chat.completions.create(model="grok-4", messages=USER)
    deployment.sim.clear_faults()
    # grok.com failing on every account: a 5xx for the client.
    deployment.sim.set_fault("500")
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="grok-4", messages=USER)
    statuses["upstream_down"] = failed.value.status_code
    deployment.sim.clear_faults()
    with pytest.raises(openai.APIStatusError) as unknown:
        client.chat.completions.create(model="no-such-model", messages=USER)
    statuses["unknown_model"] = unknown.value.status_code
    image = client.images.generate(model="grok-imagine-1.0", prompt="a red fox", n=1)
    assert image.data
    limited = openai.OpenAI(base_url=f"{deployment.gateway}/v1",
                            api_key=deployment.keys["limited"], max_retries=0, timeout=120)
    limited.chat.completions.create(model="grok-4", messages=USER)
    with pytest.raises(openai.APIStatusError) as refused:
        limited.chat.completions.create(model="grok-4", messages=USER)
    statuses["over_limit"] = refused.value.status_code
    # A key whose account tags no account carries: the pool finds no account.
    stranded = openai.OpenAI(base_url=f"{deployment.gateway}/v1",
                             api_key=deployment.keys["no_account"], max_retries=0, timeout=120)
    with pytest.raises(openai.APIStatusError) as exhausted:
        stranded.chat.completions.create(model="grok-4", messages=USER)
    assert "no_available_account" in exhausted.value.response.text
    statuses["no_account"] = exhausted.value.status_code
    return statuses


def scrape(url: str) -> dict[str, set[str]]:
    """Sample name -> the label names seen on it, from one /metrics page (a family declared
    without any series does not count: its labels cannot be checked)."""
    text = http.get(url, timeout=10).text
    seen: dict[str, set[str]] = {}
    for metric_family in text_string_to_metric_families(text):
        for sample in metric_family.samples:
            seen.setdefault(sample.name, set()).update(sample.labels)
    return seen


def missing_names(scraped: dict[str, set[str]]) -> list[str]:
    """Every metric and label an expression uses that no service emits."""
    problems: list[str] = []
    for where, expr in all_expressions():
        found = uses(expr)
        for selector in found.selectors:
            if selector.metric in SYNTHETIC_METRICS:
                continue
            if selector.metric not in scraped:
                problems.append(f"{where}: no service emits {selector.metric}")
                continue
            unknown = selector.labels - scraped[selector.metric] - TARGET_LABELS
            if unknown:
                problems.append(f"{where}: {selector.metric} has no label {sorted(unknown)}")
        for grouping in found.groupings:
            for metric in grouping.metrics:
                if metric in scraped:
                    unknown = grouping.labels - scraped[metric] - TARGET_LABELS
                    if unknown:
                        problems.append(
                            f"{where}: groups {metric} by missing label {sorted(unknown)}")
    return sorted(set(problems))


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = http.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = answer.json()
    assert body["status"] == "success", f"{expr}: {body}"
    return list(body["data"]["result"])


@pytest.fixture(scope="module")
def after_traffic(deployment: Deployment) -> dict[str, int]:
    statuses = send_traffic(deployment)
    # The usage records reach the store and the job ends before the scrape.
    time.sleep(1.0)
    return statuses


def test_the_traffic_got_the_answers_the_panels_count(after_traffic: dict[str, int]) -> None:
    assert after_traffic["over_limit"] == 429
    assert 500 <= after_traffic["upstream_down"] < 600
    assert 400 <= after_traffic["unknown_model"] < 500
    assert after_traffic["no_account"] == 429


def test_every_name_and_label_of_the_dashboard_and_alerts_is_emitted(
        deployment: Deployment, after_traffic: dict[str, int]) -> None:
    def problems_now() -> list[str]:
        scraped: dict[str, set[str]] = {}
        for url in deployment.metrics_urls.values():
            for name, labels in scrape(url).items():
                scraped.setdefault(name, set()).update(labels)
        return missing_names(scraped)

    # Background work (the pool's first usage refresh, the media worker's job end) may
    # still be under way: scrape again until nothing is missing or the deadline passes.
    deadline = time.monotonic() + WAIT_SECONDS
    problems = problems_now()
    while problems and time.monotonic() < deadline:
        time.sleep(1.0)
        problems = problems_now()
    assert not problems, "names the services do not emit:\n" + "\n".join(problems)


def test_every_service_exposes_its_process_metrics(deployment: Deployment) -> None:
    for job, url in deployment.metrics_urls.items():
        names = scrape(url)
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_open_fds"):
            assert name in names, f"{job} has no {name}"


def test_promtool_accepts_every_services_exposition(
        deployment: Deployment, after_traffic: dict[str, int],
        check_metrics: Callable[[str], None]) -> None:
    for url in deployment.metrics_urls.values():
        check_metrics(http.get(url, timeout=10).text)


def test_every_panel_query_has_data_in_prometheus(
        deployment: Deployment, after_traffic: dict[str, int]) -> None:
    empty: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    pending = [(title, ref, substitute(expr)) for title, ref, expr in dashboard_targets()
               if (title, ref) not in MAY_BE_EMPTY]
    assert set(MAY_BE_EMPTY) <= {(t, r) for t, r, _ in dashboard_targets()}
    while pending and time.monotonic() < deadline:
        pending = [(t, r, e) for t, r, e in pending if not query(deployment.prometheus, e)]
        if pending:
            time.sleep(1.0)
    empty = [f"{title} ({ref}): {expr}" for title, ref, expr in pending]
    assert not empty, "panels without data after the traffic:\n" + "\n".join(empty)


def test_every_alert_rule_evaluates_without_an_error(
        deployment: Deployment, after_traffic: dict[str, int]) -> None:
    names = {rule["alert"] for rule in alert_rules()}

    def evaluated() -> dict[str, dict[str, Any]]:
        body = http.get(f"{deployment.prometheus}/api/v1/rules", timeout=10).json()
        rules = {rule["name"]: rule for group in body["data"]["groups"]
                 for rule in group["rules"] if rule.get("lastEvaluation", "").startswith("2")
                 and not rule["lastEvaluation"].startswith("0001")}
        return rules if names <= set(rules) else {}

    rules = wait_until(evaluated, "every alert rule evaluated")
    for name in names:
        assert rules[name]["health"] == "ok", f"{name}: {rules[name].get('lastError')}"
