import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.pop("REDIS_URL", None)
    env.update(DATA_DIR=str(tmp_path / "data"), LOG_FILE_ENABLED="false", **extra)
    return env


def grok2api(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grok2api_cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield cli_env(tmp_path)
