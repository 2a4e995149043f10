"""The split services as separate containers of the one image on one podman network, with
Redis and PostgreSQL: two gateways, a token pool, a media worker and the admin."""

from __future__ import annotations

import threading

import openai
import pytest
from cryptography.fernet import Fernet
from curl_cffi import requests

from .conftest import unique, upstream_env, wait_http

ADMIN_PASSWORD = "container-test-admin-password"
SLOW_REPLY = "one two three four five six seven eight nine ten eleven twelve"


@pytest.fixture
def split(podman, image, network, simulator, redis_container, postgres_container):
    """The deployment; yields the gateways' base URLs and container names."""
    env = {
        **upstream_env(),
        "REDIS_URL": "redis://redis:6379/0",
        "TOKEN_POOL_ADDR": "token-pool:50051",
        "SERVER_STORAGE_TYPE": "pgsql",
        "SERVER_STORAGE_URL": "postgresql+asyncpg://grok2api@postgres:5432/grok2api",
        "GROK2API_SECURITY__ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "GROK2API_APP__APP_KEY": ADMIN_PASSWORD,
    }
    media = unique("media")
    podman("volume", "create", media)
    shared_data = ("--volume", f"{media}:/data")
    pool = podman.start(unique("token-pool"), image, "token-pool", network=network, env=env,
                        options=("--network-alias", "token-pool"))  # fmt: skip
    podman.wait_healthy(pool)
    gateways = [podman.start(unique("gateway"), image, "gateway", network=network, env=env,
                             options=shared_data) for _ in range(2)]  # fmt: skip
    worker = podman.start(unique("media-worker"), image, "media-worker", network=network,
                          env=env, options=shared_data)  # fmt: skip
    admin = podman.start(unique("admin"), image, "admin", network=network, env=env)
    for name in [*gateways, worker, admin]:
        podman.wait_healthy(name)
    bases = [f"http://{podman.address(name)}:8000" for name in gateways]
    for base in bases:
        wait_http(f"{base}/readyz", podman, gateways[bases.index(base)])
    try:
        yield {"gateways": bases, "names": gateways, "pool": pool, "admin": admin,
               "admin_url": f"http://{podman.address(admin)}:8000", "worker": worker}
    finally:
        podman("rm", "--force", "--time", "0", *gateways, worker, admin, pool, check=False)
        podman("volume", "rm", "--force", media, check=False)


def add_account(podman, pool: str, credential: str) -> None:
    podman("exec", pool, "grok2api", "tokens", "add", credential, "--tier", "basic",
           "--addr", "127.0.0.1:50051")  # fmt: skip


def test_chat_is_served_through_either_gateway_of_the_split_containers(
    podman, split, simulator
):
    for n in range(2):
        simulator.add_account(f"container-split-{n}", tier="basic")
        add_account(podman, split["pool"], f"container-split-{n}")

    for base in split["gateways"]:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        reply = client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": f"hello {base}"}]
        )
        assert reply.choices[0].message.content
        chunks = list(client.chat.completions.create(
            model="grok-4", messages=[{"role": "user", "content": "stream"}], stream=True
        ))  # fmt: skip
        assert chunks[-1].choices[0].finish_reason == "stop"
    # Both gateways served: each logged its own requests.
    for name in split["names"]:
        assert "path=/v1/chat/completions status=200" in podman.logs(name)
    # The admin sees the accounts the pool holds (PostgreSQL behind it).
    listing = requests.get(f"{split['admin_url']}/admin/api/accounts", timeout=10,
                           headers={"Authorization": f"Bearer {ADMIN_PASSWORD}"})  # fmt: skip
    assert listing.status_code == 200, listing.text
    assert listing.json()["total"] == 2
    for name in [*split["names"], split["pool"], split["admin"], split["worker"]]:
        assert "container-split-" not in podman.logs(name)


def test_stopping_a_gateway_with_a_grace_period_lets_its_open_stream_finish(
    podman, split, simulator
):
    credential = "container-slow-1"
    simulator.add_account(credential, tier="basic")
    add_account(podman, split["pool"], credential)
    simulator.script_reply(SLOW_REPLY, account=credential)
    simulator.set_fault("slow-tokens", account=credential, delay_ms=150)
    client = openai.OpenAI(base_url=f"{split['gateways'][0]}/v1", api_key="unused",
                           max_retries=0)  # fmt: skip
    stream = client.chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "slowly"}], stream=True
    )
    chunks = iter(stream)
    received = [next(chunks)]
    # `docker compose stop` / `podman stop`: SIGTERM, then SIGKILL after the grace period.
    stopper = threading.Thread(
        target=podman, args=("stop", "--time", "20", split["names"][0]), daemon=True
    )
    stopper.start()
    received.extend(chunks)
    stopper.join(timeout=60)

    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text.split() == SLOW_REPLY.split()
    assert received[-1].choices[0].finish_reason == "stop"
    logs = podman.logs(split["names"][0])
    assert "shutdown_requested signal=SIGTERM" in logs
    assert "stopped target=gateway" in logs
    assert podman("inspect", "--format", "{{.State.ExitCode}}", split["names"][0]).strip() == "0"
