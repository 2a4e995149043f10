"""`grok2api run` as a user starts it: data dir, health, models, clean shutdown."""

import signal
import subprocess
import sys
import threading
import time
from typing import IO

import pytest
from curl_cffi import requests

from .conftest import ROOT, cli_env, free_port

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


def start_run(env: dict[str, str]) -> tuple[subprocess.Popen, str, int]:
    """`grok2api run` on loopback ports of its own; its process, base URL and pool port."""
    port, pool_port = free_port(), free_port()
    env = {**env, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(port),
           "TOKEN_POOL_ADDR": f"127.0.0.1:{pool_port}"}
    proc = subprocess.Popen([sys.executable, "-m", "grok2api_cli.main", "run"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{port}", pool_port


@pytest.fixture
def started(env, tmp_path):
    """A process of the test's own, for a test that stops it."""
    proc, base, pool_port = start_run(env)
    try:
        wait_healthy(base, proc)
        yield proc, base, tmp_path / "data", pool_port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


class Output:
    """Everything a running process printed so far on one stream (read by a thread, so its
    pipe never fills)."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.append(line)

    def text(self) -> str:
        return "".join(self._lines)

    def wait_for(self, text: str, timeout: float = 15) -> str:
        """What was printed, once it holds ``text`` (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while text not in self.text() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.text()

    def close(self) -> None:
        self._thread.join(timeout=15)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """One process shared by the tests that only read from it (none of them stops it or
    changes what another reads); its stdout is collected as it goes."""
    tmp_path = tmp_path_factory.mktemp("running")
    proc, base, pool_port = start_run(cli_env(tmp_path))
    outputs: list[Output] = []
    try:
        wait_healthy(base, proc)
        assert proc.stdout is not None and proc.stderr is not None
        outputs += [Output(proc.stdout), Output(proc.stderr)]
        yield proc, base, outputs[0], pool_port
    finally:
        if proc.poll() is None:
            proc.kill()
        if outputs:
            proc.wait()
            for output in outputs:
                output.close()
        else:
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


def test_token_pool_grpc_health_answers_on_loopback(running):
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    _, _, _, pool_port = running
    with grpc.insecure_channel(f"127.0.0.1:{pool_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_logs_are_structured_and_carry_request_ids(running):
    _, base, output, _ = running
    requests.get(f"{base}/v1/models", timeout=5, headers={"x-request-id": "req-abc123"})
    out = output.wait_for("request_id=req-abc123")
    assert "request_id=req-abc123" in out


def test_admin_api_is_served_on_the_same_port_and_needs_the_admin_password(running):
    _, base, _, _ = running
    assert requests.get(f"{base}/admin/api/pool", timeout=5).status_code == 401
    wrong = requests.get(f"{base}/admin/api/pool", timeout=5,
                         headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    stats = requests.get(f"{base}/admin/api/pool", timeout=5,
                         headers={"Authorization": "Bearer grok2api"}).json()
    assert stats["total_accounts"] == 0 and stats["leases_in_flight"] == 0


def test_the_admin_panel_starts_with_the_default_password_and_says_so(running):
    _, base, _, _ = running
    state = requests.get(f"{base}/admin/api/auth/session", timeout=5).json()
    assert state == {"authenticated": False, "default_password": True}
    login = requests.post(f"{base}/admin/api/auth/login", json={"password": "grok2api"},
                          timeout=5)
    assert login.status_code == 204
    assert "g2a_session" in login.headers.get("set-cookie", "")


def test_metrics_and_unknown_paths(running):
    _, base, _, _ = running
    requests.get(f"{base}/v1/models", timeout=5)
    page = requests.get(f"{base}/metrics", timeout=5)
    assert page.status_code == 200 and "grok2api_" in page.text
    missing = requests.get(f"{base}/v1/nope", timeout=5)
    assert missing.status_code == 404
