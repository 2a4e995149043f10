"""Processes started as a user (or a Kubernetes Deployment) starts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from curl_cffi import requests
from grok2api_cluster.cluster import free_port
from grok2api_cluster.redis_claims import claimed_database
from grok_sim.testing import SimHandle, SimulatorProcess

ROOT = Path(__file__).resolve().parents[2]


class Demo:
    """`make demo` (scripts/demo.py) as a child process. Its output (and that of the gateway
    and simulator it starts, which share the pipe) is read all the time by a thread: a pipe
    nobody reads fills up, and a gateway blocked writing its log stops serving."""

    READY = "Ctrl-C stops both"

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts/demo.py")], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group: see stop()
        )  # fmt: skip
        self._lines: list[str] = []
        self._ready = threading.Event()  # the ready line came, or the output ended
        self._reader = threading.Thread(target=self._read, name="demo-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.append(line)
            if line.startswith(self.READY):
                self._ready.set()
        self._ready.set()

    def ready_lines(self, timeout: float = 120) -> list[str]:
        """What it printed up to its ready line (or until it stopped printing)."""
        self._ready.wait(timeout)
        return list(self._lines)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person stops it; its exit status and what it printed after ready."""
        shown = len(self.ready_lines(timeout=0))
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # The whole group: a gateway or simulator left running would hold its ports
            # for later tests (and the output pipe open).
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._reader.join(timeout=30)
        if self._reader.is_alive():  # the pipe is still held: a child outlived the demo
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError("the demo exited but left its gateway or simulator running")
        return self.proc.returncode, "".join(self._lines[shown:])


class Service:
    """One `grok2api run --target …` child process. Its output goes to a file, not a pipe:
    nobody reads a pipe until the end, and a busy service would block on a full one."""

    def __init__(self, target: str, env: dict[str, str]):
        self.target = target
        self.output: str | None = None
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grok2api_cli.main", "run", "--target", target],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stop(self) -> str:
        """Stop the process (once) and return everything it printed."""
        if self.output is None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.seek(0)
            self.output = self.log.read().decode(errors="replace")
            self.log.close()
        return self.output


def wait_http(url: str, service: Service, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise AssertionError(f"{service.target} exited: {service.stop()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestsError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{service.target} never answered {url}: {service.stop()}")


def start_ready(target: str, env: dict[str, str], count: int, *, into: list[Service]) -> list[str]:
    """``count`` services of ``target`` started together (each needs only the running pool),
    then each waited for; their base URLs. They go into ``into`` as they start, so that the
    caller stops them, a failed start included."""
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(count)]
    started = [Service(target, {**env, "SERVER_PORT": url.rsplit(":", 1)[1]}) for url in urls]
    into += started
    for url, service in zip(urls, started, strict=True):
        wait_http(f"{url}/readyz", service)
    return urls


def wait_grpc(address: str, service: Service, timeout: float = 60) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if service.proc.poll() is not None:
                raise AssertionError(f"{service.target} exited: {service.stop()}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise AssertionError(f"{service.target} never served gRPC health: {service.stop()}")


@pytest.fixture(scope="package")
def simulator_process() -> Iterator[SimHandle]:
    """One simulator process for the package's tests (a start costs about a second)."""
    with SimulatorProcess() as sim:
        yield sim


@pytest.fixture
def simulator(simulator_process: SimHandle) -> SimHandle:
    """The simulator back in its startup state: accounts, faults, scripted replies,
    recordings, assets, clearances and options reset before each test."""
    simulator_process.reset()
    return simulator_process


def process_env(data_root: Path, simulator: SimHandle) -> dict[str, str]:
    """The environment of service processes pointed at ``simulator``, data under
    ``data_root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.update(
        DATA_DIR=str(data_root / "data"),
        LOG_FILE_ENABLED="false",
        SERVER_HOST="127.0.0.1",
        GROK2API_NETWORK__BASE_URL=simulator.base_url,
        GROK2API_NETWORK__ASSETS_URL=simulator.base_url,
        GROK2API_NETWORK__ACCOUNTS_URL=simulator.base_url,
        GROK2API_SECURITY__ENCRYPTION_KEY=Fernet.generate_key().decode(),
        GROK2API_TOKEN__AUTO_REFRESH="false",
    )
    return env


@pytest.fixture
def base_env(tmp_path: Path, simulator: SimHandle) -> dict[str, str]:
    return process_env(tmp_path, simulator)


# The name test_media imports it by.
redis_database = claimed_database


@pytest.fixture
def redis_db() -> Iterator[str]:
    with redis_database() as url:
        yield url
