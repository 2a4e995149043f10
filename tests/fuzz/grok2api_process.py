"""One ``grok2api run`` process against the in-test simulator, for the API fuzzing.

The process is the real single-process deployment (gateway at ``/``, admin at ``/admin``,
pool, in-process media worker, SQLite in a temporary DATA_DIR), on loopback ports of its
own, with a few simulator accounts added through the admin API so requests that pass
validation really reach the (simulated) upstream. Everything it prints is kept, so a test
can look for tracebacks the responses did not show.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx2
from cryptography.fernet import Fernet
from grok2api_cluster.cluster import free_port
from grok_sim.testing import SimHandle

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-fuzz-gateway"
APP_KEY = "fuzz-admin-password"
ACCOUNTS = ("fuzz-account-1", "fuzz-account-2", "fuzz-account-3")
REQUEST_TIMEOUT = 30.0  # seconds: a request that takes longer counts as a hang


@dataclasses.dataclass
class Running:
    base_url: str
    process: subprocess.Popen[str]
    lines: list[str]

    @property
    def admin_url(self) -> str:
        return self.base_url + "/admin"

    def gateway_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}"}

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {APP_KEY}"}

    def output(self) -> str:
        return "".join(self.lines)


def environment(data_dir: Path, sim: SimHandle, port: int, pool_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.pop("REDIS_URL", None)
    env.update(
        DATA_DIR=str(data_dir),
        LOG_FILE_ENABLED="false",
        SERVER_HOST="127.0.0.1",
        SERVER_PORT=str(port),
        TOKEN_POOL_ADDR=f"127.0.0.1:{pool_port}",
        GROK2API_APP__APP_KEY=APP_KEY,
        GROK2API_APP__API_KEY=API_KEY,
        GROK2API_NETWORK__BASE_URL=sim.base_url,
        GROK2API_NETWORK__ASSETS_URL=sim.base_url,
        GROK2API_NETWORK__ACCOUNTS_URL=sim.base_url,
        GROK2API_SECURITY__ENCRYPTION_KEY=Fernet.generate_key().decode(),
        GROK2API_TOKEN__AUTO_REFRESH="false",
        GROK2API_CHAT__DYNAMIC_STATSIG="false",
        GROK2API_RETRY__RETRY_BACKOFF_BASE="0",
    )
    return env


def _collect(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def _wait_ready(base_url: str, process: subprocess.Popen[str], lines: list[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"grok2api run exited early:\n{''.join(lines)}")
        try:
            if httpx2.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"grok2api run never became ready:\n{''.join(lines)}")


def add_accounts(running: Running, sim: SimHandle) -> None:
    quotas = {mode: {"total": 1_000_000, "remaining": 1_000_000, "window_seconds": 3600}
              for mode in ("auto", "fast", "expert", "heavy")}  # fmt: skip
    for credential in ACCOUNTS:
        sim.add_account(credential, tier="super", quotas=quotas)
        answer = httpx2.post(f"{running.admin_url}/api/accounts", headers=running.admin_headers(),
                             json={"credential": credential, "tier": "super"}, timeout=30)
        assert answer.status_code == 201, answer.text


@contextlib.contextmanager
def started(data_dir: Path, sim: SimHandle) -> Iterator[Running]:
    """``grok2api run`` serving, with the accounts added; stopped (SIGTERM) on exit."""
    port = free_port()
    env = environment(data_dir, sim, port, free_port())
    process = subprocess.Popen(
        [sys.executable, "-m", "grok2api_cli.main", "run"], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=_collect, args=(process.stdout, lines), daemon=True)
    reader.start()
    running = Running(base_url=f"http://127.0.0.1:{port}", process=process, lines=lines)
    try:
        _wait_ready(running.base_url, process, lines)
        add_accounts(running, sim)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=10)
