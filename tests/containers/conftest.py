"""The image built once per session in a podman storage of its own, and what its containers
need: a network, the simulator (a container of the same image), Redis and PostgreSQL."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from curl_cffi import requests
from grok_sim.testing import SimHandle

from .podman import ROOT, Podman

IMAGE = "localhost/grok2api:test"
STAND_INS = "localhost/grok2api-test-stand-ins:bookworm"
STAND_INS_TAR = ROOT / ".cache/container/stand-ins-bookworm.tar"
PG_BIN = "/usr/lib/postgresql/15/bin"
SIM_PORT = 9100


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.container)
            item.add_marker(pytest.mark.timeout(600))


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    subprocess.run([ROOT / "scripts/container/install-tools.sh"], check=True)
    engine = Podman(tmp_path_factory.mktemp("podman"))
    try:
        yield engine
    finally:
        engine.clean()


@pytest.fixture(scope="session")
def image(podman: Podman) -> str:
    """The image as `make image` builds it (the same script), once per session."""
    podman.run_script("build-image.sh", IMAGE)
    return IMAGE


@pytest.fixture(scope="session")
def stand_ins(podman: Podman) -> str:
    """Redis and PostgreSQL from Debian's packages, for containers to reach by name (the
    machine's own servers listen on its loopback, which containers cannot reach)."""
    if not STAND_INS_TAR.exists():
        STAND_INS_TAR.parent.mkdir(parents=True, exist_ok=True)
        partial = STAND_INS_TAR.with_name("partial-" + STAND_INS_TAR.name)
        sources = Path("/etc/apt/sources.list.d/debian.sources")
        with sources.open() as stdin:
            subprocess.run(
                ["mmdebstrap", "--quiet", "--format=tar", "--variant=minbase",
                 "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
                 "--include=redis-server,postgresql-15", "bookworm", str(partial), "-"],
                stdin=stdin, check=True, capture_output=True, timeout=600,
            )  # fmt: skip
        partial.rename(STAND_INS_TAR)
    podman("import", "--quiet", str(STAND_INS_TAR), STAND_INS)
    return STAND_INS


@pytest.fixture
def network(podman: Podman) -> Iterator[str]:
    name = f"g2a-{uuid.uuid4().hex[:8]}"
    podman("network", "create", name)
    try:
        yield name
    finally:
        containers = podman("ps", "-a", "-q", "--filter", f"network={name}").split()
        if containers:
            podman("rm", "--force", "--time", "0", *containers, check=False)
        podman("network", "rm", "--force", name, check=False)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def simulator(podman: Podman, image: str, network: str) -> SimHandle:
    """`grok2api sim` in a container of the image, named `sim` on the network."""
    name = unique("sim")
    podman.start(name, image, "sim", "--host", "0.0.0.0", "--port", str(SIM_PORT),
                 network=network, options=("--network-alias", "sim", "--no-healthcheck",
                                           "--entrypoint", "grok2api"))  # fmt: skip
    handle = SimHandle(f"http://{podman.address(name)}:{SIM_PORT}")
    wait_http(f"{handle.base_url}/_sim/accounts", podman, name)
    return handle


def upstream_env() -> dict[str, str]:
    """Settings pointing a service at the simulator container."""
    url = f"http://sim:{SIM_PORT}"
    return {"GROK2API_NETWORK__BASE_URL": url, "GROK2API_NETWORK__ASSETS_URL": url,
            "GROK2API_NETWORK__ACCOUNTS_URL": url, "GROK2API_TOKEN__AUTO_REFRESH": "false"}


def wait_http(url: str, podman: Podman, name: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestsError:
            pass
        if not podman.running(name):
            break
        time.sleep(0.3)
    raise AssertionError(f"{name} never answered {url}:\n{podman.logs(name)}")


@pytest.fixture
def redis_container(podman: Podman, stand_ins: str, network: str) -> str:
    name = unique("redis")
    podman.start(name, stand_ins, "redis-server", "--bind", "0.0.0.0", "--protected-mode",
                 "no", "--save", "", "--appendonly", "no", network=network,
                 options=("--network-alias", "redis", "--user", "redis",
                          "--tmpfs", "/var/lib/redis"))  # fmt: skip
    return name


@pytest.fixture
def postgres_container(podman: Podman, stand_ins: str, network: str) -> str:
    """PostgreSQL 15 on a fresh cluster (trust authentication, database `grok2api`)."""
    name = unique("postgres")
    script = (f"{PG_BIN}/initdb -D /tmp/pg --auth=trust -U grok2api >/dev/null"
              " && echo 'host all all all trust' >> /tmp/pg/pg_hba.conf"
              f" && exec {PG_BIN}/postgres -D /tmp/pg -k /tmp -c listen_addresses='*'")
    podman.start(name, stand_ins, "sh", "-c", script, network=network,
                 options=("--network-alias", "postgres", "--user", "postgres"))  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = podman("exec", name, f"{PG_BIN}/pg_isready", "-h", "/tmp",
                       check=False)  # fmt: skip
        if "accepting connections" in ready:
            podman("exec", name, f"{PG_BIN}/createdb", "-h", "/tmp", "-U", "grok2api",
                   "grok2api")  # fmt: skip
            return name
        time.sleep(0.3)
    raise AssertionError(f"PostgreSQL never started:\n{podman.logs(name)}")
