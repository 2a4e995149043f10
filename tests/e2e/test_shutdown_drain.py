"""A stopped gateway lets its open streams finish within ``server.shutdown_grace``: what
`docker compose stop`, `podman stop` and a Kubernetes rollout send is SIGTERM, and a stream
longer than a few seconds must not be cut by it."""

from __future__ import annotations

import asyncio
import signal
import time

import openai
import pytest
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier

from .conftest import Service, free_port, wait_http

pytestmark = pytest.mark.e2e

# 40 words at 150 ms each: a 6 s answer, longer than any fixed few-second drain.
SLOW_REPLY = " ".join(f"word{n}" for n in range(40))


async def _add_account(addr: str, credential: str) -> None:
    async with GrpcPoolClient(addr) as pool:
        await pool.upsert_account(credential=credential, tier=Tier.BASIC)


def _stream_through_a_stop(base_env, simulator, *, grace: str) -> tuple[Service, str, str]:
    """Start a slow stream, SIGTERM the process after its first chunk, read the rest;
    the text received, and how the stream ended ("finished" or the error's class)."""
    port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
    env = {**base_env, "SERVER_PORT": str(port), "TOKEN_POOL_ADDR": pool_addr,
           "GROK2API_SERVER__SHUTDOWN_GRACE": grace}  # fmt: skip
    service = Service("all", env)
    wait_http(f"http://127.0.0.1:{port}/readyz", service, timeout=90)
    credential = f"drain-basic-{grace}"
    simulator.add_account(credential, tier="basic")
    asyncio.run(_add_account(pool_addr, credential))
    simulator.script_reply(SLOW_REPLY, account=credential)
    simulator.set_fault("slow-tokens", account=credential, delay_ms=150)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "slowly"}], stream=True
    )
    text, ending = "", "finished"
    try:
        for n, chunk in enumerate(stream):
            if n == 0:
                service.proc.send_signal(signal.SIGTERM)
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    except (openai.APIError, OSError) as exc:  # the connection was cut mid-stream
        ending = type(exc).__name__
    return service, text, ending


def _exited(service: Service) -> str:
    """Its output once it has exited on the one SIGTERM (a second would force it)."""
    service.proc.wait(timeout=60)
    return service.stop()


def test_sigterm_lets_an_open_stream_finish(base_env, simulator):
    service, text, ending = _stream_through_a_stop(base_env, simulator, grace="30")
    output = _exited(service)
    assert ending == "finished"
    assert text.split() == SLOW_REPLY.split()
    assert service.proc.returncode == 0, output


def test_a_stream_longer_than_the_grace_is_cut_and_the_process_stops(base_env, simulator):
    started = time.monotonic()
    service, text, ending = _stream_through_a_stop(base_env, simulator, grace="1")
    output = _exited(service)
    assert ending != "finished" or text.split() != SLOW_REPLY.split()
    assert len(text.split()) < len(SLOW_REPLY.split())
    assert service.proc.returncode == 0, output
    assert time.monotonic() - started < 60  # it did not wait for the stream's whole length
