"""A distributed deployment on this machine: the simulator with a few hundred accounts, a
Redis server of its own (so a test may kill it), a PostgreSQL database of its own, token-pool
replicas, gateways behind a round-robin front, media workers and the admin service, each a
separate `grok2api run --target …` process as on Kubernetes.

    with Cluster(workdir, ClusterSpec(gateways=2)) as cluster:
        openai.OpenAI(base_url=f"{cluster.url}/v1", api_key="any").chat.completions.create(…)
        cluster.kill("gateway-1"); cluster.restart("gateway-1")
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from grok_sim.testing import SimHandle

from . import accounts, database
from .processes import ManagedProcess, grpc_serving, http_ok, tcp_open

ADMIN_PASSWORD = "cluster-admin"  # a local deployment's; the admin target refuses the default


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    gateways: int = 2
    pools: int = 2
    workers: int = 2
    admin: bool = True
    accounts: int = 300
    tier: str = "basic"
    auto_quota: int = 0  # > 0: every account's "auto" window upstream, instead of the tier's
    # Extra environment for every service (settings as GROK2API_SECTION__KEY).
    env: tuple[tuple[str, str], ...] = ()
    simulator_args: tuple[str, ...] = ()


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now that this process has not handed out before. Every address is
    picked before the services start, and the kernel offers a released port again: one
    token pool once got the same port for its gRPC and its HTTP server."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class Cluster:
    def __init__(self, workdir: Path, spec: ClusterSpec | None = None) -> None:
        self.spec = spec or ClusterSpec()
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.data = workdir / "data"
        self.processes: dict[str, ManagedProcess] = {}
        self.ready: dict[str, Any] = {}
        self.database_name = f"g2a_cluster_{uuid.uuid4().hex[:10]}"
        self.database_url = ""
        self.redis_port = free_port()
        self.pool_addrs = [f"127.0.0.1:{free_port()}" for _ in range(self.spec.pools)]
        self.gateway_urls = [f"http://127.0.0.1:{free_port()}" for _ in range(self.spec.gateways)]
        self.admin_url = f"http://127.0.0.1:{free_port()}" if self.spec.admin else ""
        self.front_port = free_port()
        self.simulator_port = free_port()
        self.credentials = accounts.credentials(self.spec.accounts)
        self.encryption_key = Fernet.generate_key().decode()
        self.simulator: SimHandle | None = None

    # -- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The front: what clients use (round robin over the gateways)."""
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def pool_target(self) -> str:
        """Every pool replica for the gRPC client's round robin (one name on Kubernetes)."""
        return "ipv4:" + ",".join(self.pool_addrs)

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items() if p.pid and p.alive()}

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Cluster:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        try:
            self._start_backing_services()
            for index, address in enumerate(self.pool_addrs, 1):
                self._add(
                    f"pool-{index}",
                    self._service_argv("token-pool"),
                    self._env(TOKEN_POOL_ADDR=address, SERVER_PORT=str(free_port())),
                )
            self.restart("pool-1")  # alone: it migrates the store; the rest start together
            accounts.add_to_pool(self.pool_addrs[0], self.credentials, self.spec.tier)
            for index, url in enumerate(self.gateway_urls, 1):
                self._add(
                    f"gateway-{index}",
                    self._service_argv("gateway"),
                    self._env(SERVER_PORT=url.rsplit(":", 1)[1]),
                )
            for index in range(1, self.spec.workers + 1):
                self._add(
                    f"worker-{index}",
                    self._service_argv("media-worker"),
                    self._env(SERVER_PORT=str(free_port())),
                )
            if self.admin_url:
                self._add(
                    "admin",
                    self._service_argv("admin"),
                    self._env(SERVER_PORT=self.admin_url.rsplit(":", 1)[1]),
                )
            backends = [arg for url in self.gateway_urls for arg in ("--backend", url[7:])]
            self._add(
                "front",
                [
                    sys.executable,
                    "-m",
                    "grok2api_cluster.front",
                    "--port",
                    str(self.front_port),
                    *backends,
                ],
                dict(os.environ),
            )
            for name in self.processes:
                if not self.processes[name].alive():
                    self.processes[name].start()
            for name in self.processes:
                self.wait_ready(name)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_backing_services(self) -> None:
        self._add(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            dict(os.environ),
        )
        seeds = accounts.write_simulator_file(
            self.workdir / "simulator-accounts.json",
            self.credentials,
            self.spec.tier,
            self.spec.auto_quota,
        )
        self._add(
            "simulator",
            [
                sys.executable,
                "-m",
                "grok_sim",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.simulator_port),
                "--accounts",
                str(seeds),
                *self.spec.simulator_args,
            ],
            dict(os.environ),
        )
        self.processes["redis"].start()
        self.processes["simulator"].start()
        self.database_url = database.create(self.database_name)  # while they start
        self.wait_ready("redis")
        self.wait_ready("simulator")
        self.simulator = SimHandle(self.simulator_url)

    def stop(self) -> None:
        """Every process (SIGTERM to all at once, SIGKILL to any still running 20 s
        later), then the database."""
        for process in self.processes.values():
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            if not process.wait(max(0.0, deadline - time.monotonic())):
                process.kill()
        if self.simulator is not None:
            self.simulator.close()
        if self.database_url:
            database.drop(self.database_name)
            self.database_url = ""

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ---------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """kill -9 one process (and its children)."""
        self.processes[name].kill()

    def terminate(self, name: str, timeout: float = 60) -> None:
        """SIGTERM: the drain a rolling update asks for; SIGKILL only past ``timeout``."""
        self.processes[name].stop(timeout=timeout)

    def restart(self, name: str) -> None:
        """Start a stopped process again and wait until it serves."""
        process = self.processes[name]
        if not process.alive():
            process.start()
        self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 90) -> None:
        process = self.processes[name]
        process.wait_until(self._readiness(name), what="ready", timeout=timeout)

    def _readiness(self, name: str) -> Any:
        kind, _, index = name.partition("-")
        if kind == "redis":
            return tcp_open(self.redis_port)
        if kind == "simulator":
            return http_ok(f"{self.simulator_url}/_sim/health")
        if kind == "pool":
            return grpc_serving(self.pool_addrs[int(index) - 1])
        if kind == "gateway":
            return http_ok(f"{self.gateway_urls[int(index) - 1]}/readyz")
        if kind == "admin":
            return http_ok(f"{self.admin_url}/readyz")
        if kind == "front":
            return tcp_open(self.front_port)
        port = self.processes[name].env["SERVER_PORT"]  # a media worker's probes
        return http_ok(f"http://127.0.0.1:{port}/readyz")

    # -- building blocks ------------------------------------------------------------------

    def _add(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.processes[name] = ManagedProcess(name, argv, env=env, log_dir=self.logs)

    @staticmethod
    def _service_argv(target: str) -> list[str]:
        return [sys.executable, "-m", "grok2api_cli.main", "run", "--target", target]

    def _env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
        env.update(
            DATA_DIR=str(self.data),
            LOG_FILE_ENABLED="false",
            SERVER_HOST="127.0.0.1",
            SERVER_STORAGE_TYPE="pgsql",
            SERVER_STORAGE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            TOKEN_POOL_ADDR=self.pool_target,
            GROK2API_NETWORK__BASE_URL=self.simulator_url,
            GROK2API_NETWORK__ASSETS_URL=self.simulator_url,
            GROK2API_NETWORK__ACCOUNTS_URL=self.simulator_url,
            GROK2API_SECURITY__ENCRYPTION_KEY=self.encryption_key,
            GROK2API_APP__APP_KEY=ADMIN_PASSWORD,
            GROK2API_APP__APP_URL=self.url,
        )
        env.update(dict(self.spec.env))
        env.update(overrides)
        return env

    # -- `make cluster-up` / `cluster-down` ---------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "gateways": self.gateway_urls,
            "pools": self.pool_addrs,
            "admin": f"{self.admin_url}/admin/" if self.admin_url else "",
            "admin_password": ADMIN_PASSWORD if self.admin_url else "",
            "simulator": self.simulator_url,
            "redis": self.redis_url,
            "database": self.database_name,
            "logs": str(self.logs),
            "pids": self.pids(),
        }

    def save(self) -> Path:
        path = self.workdir / "cluster.json"
        path.write_text(json.dumps(self.describe(), indent=2))
        return path
