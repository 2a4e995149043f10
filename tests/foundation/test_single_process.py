"""`grok2api run` as a user starts it: data dir, health, models, clean shutdown."""

import signal
import subprocess
import sys
import time

import pytest
from curl_cffi import requests

from .conftest import ROOT, free_port

pytestmark = pytest.mark.e2e


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()}")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestsError:
            pass
        time.sleep(0.2)
    raise AssertionError("never became healthy")


@pytest.fixture
def started(env, tmp_path):
    port, pool_port = free_port(), free_port()
    env = {**env, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port),
           "TOKEN_POOL_ADDR": f"127.0.0.1:{pool_port}"}
    proc = subprocess.Popen([sys.executable, "-m", "grok2api_cli.main", "run"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield proc, base, tmp_path / "data", pool_port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_health_and_models_then_stops_cleanly_on_signal(started, signum):
    proc, base, data_dir, _ = started
    assert requests.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
    models = requests.get(f"{base}/v1/models", timeout=5).json()
    assert models["object"] == "list"
    assert "grok-4" in {m["id"] for m in models["data"]}
    assert (data_dir / "config.toml").read_text().startswith("# grok2api configuration")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err


def test_token_pool_grpc_health_answers_on_loopback(started):
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    _, _, _, pool_port = started
    with grpc.insecure_channel(f"127.0.0.1:{pool_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_logs_are_structured_and_carry_request_ids(started):
    proc, base, _, _ = started
    requests.get(f"{base}/v1/models", timeout=5, headers={"x-request-id": "req-abc123"})
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert "request_id=req-abc123" in out


def test_admin_api_is_served_on_the_same_port_and_needs_the_admin_password(started):
    _, base, _, _ = started
    assert requests.get(f"{base}/admin/api/pool", timeout=5).status_code == 401
    wrong = requests.get(f"{base}/admin/api/pool", timeout=5,
                         headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    stats = requests.get(f"{base}/admin/api/pool", timeout=5,
                         headers={"Authorization": "Bearer grok2api"}).json()
    assert stats["total_accounts"] == 0 and stats["leases_in_flight"] == 0


def test_the_admin_panel_starts_with_the_default_password_and_says_so(started):
    _, base, _, _ = started
    state = requests.get(f"{base}/admin/api/auth/session", timeout=5).json()
    assert state == {"authenticated": False, "default_password": True}
    login = requests.post(f"{base}/admin/api/auth/login", json={"password": "grok2api"},
                          timeout=5)
    assert login.status_code == 204
    assert "g2a_session" in login.headers.get("set-cookie", "")


def test_metrics_and_unknown_paths(started):
    _, base, _, _ = started
    requests.get(f"{base}/v1/models", timeout=5)
    page = requests.get(f"{base}/metrics", timeout=5)
    assert page.status_code == 200 and "grok2api_" in page.text
    missing = requests.get(f"{base}/v1/nope", timeout=5)
    assert missing.status_code == 404
