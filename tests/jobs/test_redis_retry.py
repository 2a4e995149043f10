"""A Redis restart breaks every pooled connection: clients built with ``retrying()`` send the
next command again over a fresh connection instead of failing it (the first requests after a
recovery used to fail with 503)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from grok2api_cluster.cluster import free_port
from grok2api_jobs import retrying
from redis import exceptions as redis_errors


class RedisServer:
    """A redis-server of the test's own, so it can be killed and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(500):
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise AssertionError("redis-server did not start in 10 s")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    redis_server = RedisServer()
    redis_server.start()
    yield redis_server
    redis_server.kill()


async def restarted_ping(server: RedisServer, client: aioredis.Redis) -> bool:
    await client.set("k", "v")  # a pooled connection, alive
    server.kill()
    server.start()
    return bool(await client.ping())


async def test_a_retrying_client_survives_a_restart(server: RedisServer) -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{server.port}/0", **retrying())
    try:
        assert await restarted_ping(server, client)
        assert await client.get("k") is None  # a new, empty server
    finally:
        await client.aclose()


async def test_a_default_client_fails_its_first_command_after_a_restart(
    server: RedisServer,
) -> None:
    """What the retry is for: without it the first command on the old connection fails."""
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(redis_errors.ConnectionError):
            await restarted_ping(server, client)
    finally:
        await client.aclose()
