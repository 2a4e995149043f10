"""Root fixtures shared by every test package (a package's own conftest may override them)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis.asyncio as aioredis
from gateway.chat import usage
from grok2api_jobs import InProcessJobQueue, JobQueue, RedisJobQueue

pytest_plugins = ["grok_sim.pytest_plugin"]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session", autouse=True)
def one_tokenizer() -> Iterator[None]:
    """Every gateway app a test builds counts with one ``cl100k_base`` tokenizer: a build
    parses its 100k-entry table (about 0.15 s of CPU), and the suite builds hundreds of apps.
    The tokenizer is immutable, so sharing it changes no count; each app's ``TokenCounter``
    still builds (here: fetches) it on its first count, as in a process of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(usage, "build_encoding", functools.cache(usage.build_encoding))
        yield


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
def check_metrics() -> Callable[[str | bytes], None]:
    """Assert that ``promtool check metrics`` (Debian's ``prometheus`` package, which
    ``make test`` needs and ``.ci/run`` installs) accepts a Prometheus exposition."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: apt-get install -y prometheus (.ci/run does)")

    def check(exposition: str | bytes) -> None:
        data = exposition.encode() if isinstance(exposition, str) else exposition
        done = subprocess.run([promtool, "check", "metrics"], input=data,
                              capture_output=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, (done.stdout + done.stderr).decode()

    return check


@pytest.fixture(params=["in_process", "redis"])
async def queue(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> JobQueue:
    """The media job queue over both backends, so every test using it runs twice."""
    if request.param == "in_process":
        return InProcessJobQueue()
    return RedisJobQueue(redis_client, prefix=redis_prefix)
