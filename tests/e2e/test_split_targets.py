"""The services split as on Kubernetes: token-pool and gateway processes sharing Redis."""

from __future__ import annotations

import asyncio

import openai
import pytest
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier

from .conftest import Service, free_port, wait_grpc, wait_http

pytestmark = pytest.mark.e2e


async def add_accounts(addr: str, credentials: list[str]) -> None:
    async with GrpcPoolClient(addr) as pool:
        for credential in credentials:
            await pool.upsert_account(credential=credential, tier=Tier.BASIC)


@pytest.fixture
def split(base_env, redis_db, simulator, tmp_path):
    pool_addr = f"127.0.0.1:{free_port()}"
    env = {**base_env, "REDIS_URL": redis_db, "TOKEN_POOL_ADDR": pool_addr,
           "SERVER_STORAGE_TYPE": "local"}
    (tmp_path / "data").mkdir()
    services = [Service("token-pool", {**env, "SERVER_PORT": str(free_port())})]
    try:
        wait_grpc(pool_addr, services[0])
        port = free_port()
        gateway = Service("gateway", {**env, "SERVER_PORT": str(port)})
        services.append(gateway)
        wait_http(f"http://127.0.0.1:{port}/readyz", gateway)
        yield f"http://127.0.0.1:{port}", pool_addr, services
    finally:
        for service in reversed(services):
            service.stop()


def test_chat_streams_and_completes_through_split_services(split, simulator):
    base, pool_addr, services = split
    for n in range(3):
        simulator.add_account(f"split-basic-{n}", tier="basic")
    asyncio.run(add_accounts(pool_addr, [f"split-basic-{n}" for n in range(3)]))
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)

    reply = client.chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "hello split"}], stream=False
    )
    assert reply.choices[0].message.content
    chunks = list(client.chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "hello again"}], stream=True
    ))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed
    assert chunks[-1].choices[0].finish_reason == "stop"
    # Two chat turns upstream, on the default generation: one mgw handshake each.
    handshakes = [r for r in simulator.requests(path="/ws/mgw/") if r["method"] != "WS"]
    assert len(handshakes) == 2
    logs = "".join(service.stop() for service in services)
    assert "http_request method=POST path=/v1/chat/completions status=200" in logs
    assert "split-basic-" not in logs  # account credentials never reach the logs
