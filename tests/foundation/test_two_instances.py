"""Two `grok2api run` on one machine: one pool per address, and the CLI writes only to the
pool that serves its own data directory's store. (The `tokens` commands run in this process:
a client of the pools, it needs no process of its own; the refused `run` does.)"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from curl_cffi import requests

from .conftest import ROOT, cli_env, free_port, grok2api, grok2api_in_process
from .test_single_process import wait_healthy

pytestmark = pytest.mark.e2e


class Instances:
    """Started `grok2api run` processes, killed at the end of the test."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, env: dict[str, str]) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "grok2api_cli.main", "run"], env=env,
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        self.procs.append(proc)
        base = f"http://127.0.0.1:{env['SERVER_PORT']}"
        wait_healthy(base, proc)
        return base


@pytest.fixture
def instances() -> Iterator[Instances]:
    started = Instances()
    yield started
    for proc in started.procs:
        proc.terminate()
    for proc in started.procs:
        _, err = proc.communicate(timeout=15)
        assert (proc.returncode, "Traceback" in err) == (0, False), err


def instance_env(data: Path, *, pool_port: int) -> dict[str, str]:
    return {**cli_env(data), "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(free_port()),
            "TOKEN_POOL_ADDR": f"127.0.0.1:{pool_port}"}  # fmt: skip


def accounts_in(base: str) -> int:
    stats = requests.get(f"{base}/admin/api/pool", timeout=5,
                         headers={"Authorization": "Bearer grok2api"}).json()  # fmt: skip
    return int(stats["total_accounts"])


def test_a_second_instance_cannot_share_the_pool_and_the_cli_never_writes_to_the_other_store(
    instances: Instances, tmp_path: Path
) -> None:
    first_pool = free_port()
    first = instances.start(instance_env(tmp_path / "first", pool_port=first_pool))

    second_env = instance_env(tmp_path / "second", pool_port=first_pool)
    refused = grok2api("run", env=second_env)
    assert refused.returncode == 3
    assert refused.stderr.strip().splitlines() == [
        f"grok2api: cannot listen on 127.0.0.1:{first_pool} for the token pool (is another "
        "grok2api using it?): set TOKEN_POOL_ADDR to a free address"
    ]

    second_env["TOKEN_POOL_ADDR"] = f"127.0.0.1:{free_port()}"
    second = instances.start(second_env)
    credentials = tmp_path / "credentials.txt"
    credentials.write_text("second-instance-" + "s" * 30 + "\n")

    aimed_at_first = {**second_env, "TOKEN_POOL_ADDR": f"127.0.0.1:{first_pool}"}
    wrong = grok2api_in_process("tokens", "import", str(credentials), env=aimed_at_first)
    assert wrong.returncode == 2
    store = (tmp_path / "second" / "data" / "grok2api.db").resolve()
    assert wrong.stderr.splitlines() == [
        f"grok2api: the token pool at 127.0.0.1:{first_pool} (TOKEN_POOL_ADDR) serves another "
        f"store than this command's settings name (sqlite:{store}): stop the grok2api that "
        "owns that pool, point TOKEN_POOL_ADDR at the pool of this data directory, or use --local"
    ]
    assert accounts_in(first) == 0

    right = grok2api_in_process("tokens", "import", str(credentials), env=second_env)
    assert right.returncode == 0, right.stderr
    assert "imported 1 of 1 accounts" in right.stdout
    assert (accounts_in(first), accounts_in(second)) == (0, 1)
