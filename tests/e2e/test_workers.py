"""SERVER_WORKERS > 1: gateway worker processes sharing the port and the pool via Redis."""

from __future__ import annotations

import asyncio
import signal

import openai
import pytest
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier

from .conftest import Service, free_port, wait_http

pytestmark = pytest.mark.e2e


async def add_account(addr: str, credential: str) -> None:
    async with GrpcPoolClient(addr) as pool:
        await pool.upsert_account(credential=credential, tier=Tier.BASIC)


def test_two_gateway_workers_share_one_pool_and_stop_together(base_env, redis_db, simulator):
    port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
    env = {**base_env, "SERVER_WORKERS": "2", "REDIS_URL": redis_db, "SERVER_PORT": str(port),
           "TOKEN_POOL_ADDR": pool_addr}
    service = Service("all", env)
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", service, timeout=90)
        simulator.add_account("workers-basic-1", tier="basic")
        asyncio.run(add_account(pool_addr, "workers-basic-1"))
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        for n in range(4):
            reply = client.chat.completions.create(
                model="grok-4", messages=[{"role": "user", "content": f"hi {n}"}], stream=False
            )
            assert reply.choices[0].message.content
    finally:
        service.proc.send_signal(signal.SIGTERM)
        output = service.stop()
    assert service.proc.returncode == 0, output
    assert "Traceback" not in output
