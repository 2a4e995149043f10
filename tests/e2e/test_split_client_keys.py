"""Client keys across a split deployment: a token pool and two gateway processes sharing
Redis and a PostgreSQL store (reached through a forwarder the test can cut).

One deployment runs every scenario in order (starting it is the slow part): limits that
hold exactly across both gateways, revocation within a second on both, the usage records of
every request in the store, and requests served while the store is away whose records
arrive once it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from grok2api_storage import crypto, factory, protocols
from grok2api_storage.records import ClientKeyLimits, UsageFilter
from grok_sim.testing import SimHandle
from storage.forwarder import ThreadedForwarder, threaded_forwarder
from storage.support import PG_PORT, ServerDatabases, run_in_thread

from .conftest import Service, free_port, wait_grpc, wait_http
from .test_split_targets import add_accounts

pytestmark = pytest.mark.e2e
USER = [{"role": "user", "content": "hello"}]


class Deployment:
    def __init__(self, gateways: list[str], forwarder: ThreadedForwarder, settings: Any,
                 cipher: crypto.CredentialCipher, sim: SimHandle):
        self.gateways = gateways
        self.forwarder = forwarder
        self.settings = settings
        self.cipher = cipher
        self.sim = sim

    async def store(self) -> protocols.Store:
        """The same database, reached directly (the test's own view, never cut)."""
        return await factory.open_store(self.settings, cipher=self.cipher)


@pytest.fixture
def deployment(base_env: dict[str, str], redis_db: str, simulator: SimHandle,
               tmp_path: Path) -> Iterator[Deployment]:
    databases = ServerDatabases(tmp_path)
    direct_url = databases.fresh("postgres")
    key = crypto.generate_key()
    cipher = crypto.CredentialCipher(key=key, source="the test key")
    settings = databases.settings_for("postgres", direct_url)

    async def migrate() -> None:
        async with await factory.open_store(settings, cipher=cipher) as store:
            await store.migrate()

    run_in_thread(migrate)
    pool_addr = f"127.0.0.1:{free_port()}"
    with threaded_forwarder("127.0.0.1", PG_PORT) as forwarder:
        cut_url = direct_url.replace(f":{PG_PORT}/", f":{forwarder.port}/")
        env = {**base_env, "REDIS_URL": redis_db, "TOKEN_POOL_ADDR": pool_addr,
               "SERVER_STORAGE_TYPE": "pgsql", "SERVER_STORAGE_URL": cut_url,
               "GROK2API_SECURITY__ENCRYPTION_KEY": key,
               "GROK2API_USAGE__FLUSH_INTERVAL_SECONDS": "0.2"}
        (tmp_path / "data").mkdir()
        services = [Service("token-pool", {**env, "SERVER_PORT": str(free_port())})]
        try:
            wait_grpc(pool_addr, services[0])
            gateways = []
            for _ in range(2):
                port = free_port()
                services.append(Service("gateway", {**env, "SERVER_PORT": str(port)}))
                wait_http(f"http://127.0.0.1:{port}/readyz", services[-1])
                gateways.append(f"http://127.0.0.1:{port}")
            credentials = [f"keys-split-{n}" for n in range(4)]
            for credential in credentials:
                simulator.add_account(credential, tier="basic")
            asyncio.run(add_accounts(pool_addr, credentials))
            yield Deployment(gateways, forwarder, settings, cipher, simulator)
        finally:
            for service in reversed(services):
                service.stop()
            run_in_thread(databases.drop_all)


async def ask(base: str, key: str) -> int | str:
    """The HTTP status of one chat (200, or the refusal's), with the limit that refused."""
    async with openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0) as client:
        try:
            await client.chat.completions.create(model="grok-4", messages=USER)
        except openai.APIStatusError as exc:
            return f"{exc.status_code} {exc.response.headers.get('x-grok2api-limit', '')}"
        return 200


async def burst(deployment: Deployment, key: str, count: int) -> list[int | str]:
    """``count`` concurrent chats, alternating between the two gateways."""
    bases = deployment.gateways
    return await asyncio.gather(*(ask(bases[n % 2], key) for n in range(count)))


def handshakes(sim: SimHandle) -> list[dict[str, Any]]:
    """The chat turns the upstream received (one mgw WebSocket handshake each)."""
    return [r for r in sim.requests(path="/ws/mgw/") if r["method"] != "WS"]


async def records_of(store: protocols.Store, key_id: str, expected: int) -> Any:
    """The key's usage totals once ``expected`` records arrived (they are drained off the
    hot path: a few flush intervals)."""
    for _ in range(300):
        (bucket,) = await store.usage.summary(filters=UsageFilter(key_id=key_id))
        if bucket.requests >= expected:
            return bucket
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {bucket.requests} of {expected} records arrived")


def test_limits_revocation_and_records_across_two_gateways(deployment: Deployment) -> None:
    asyncio.run(_scenarios(deployment))


async def _scenarios(deployment: Deployment) -> None:
    store = await deployment.store()
    try:
        await _rate_and_quota_hold_exactly(deployment, store)
        await _concurrency_holds_across_gateways(deployment, store)
        await _revocation_reaches_both_gateways(deployment, store)
        await _the_store_away_loses_no_record(deployment, store)
    finally:
        await store.aclose()


async def _rate_and_quota_hold_exactly(deployment: Deployment, store: protocols.Store) -> None:
    per_minute = await store.client_keys.create(
        name="rpm", limits=ClientKeyLimits(rate_limit_per_minute=6))
    results = await burst(deployment, per_minute.plain_key, 14)
    assert results.count(200) == 6
    assert results.count("429 requests_per_minute") == 8

    daily = await store.client_keys.create(name="daily", limits=ClientKeyLimits(daily_quota=5))
    results = await burst(deployment, daily.plain_key, 12)
    assert results.count(200) == 5
    assert results.count("429 daily_quota") == 7

    bucket = await records_of(store, per_minute.record.id, 14)
    assert (bucket.requests, bucket.errors) == (14, 8)
    assert bucket.prompt_tokens > 0 and bucket.completion_tokens > 0
    bucket = await records_of(store, daily.record.id, 12)
    assert (bucket.requests, bucket.errors) == (12, 7)


async def _concurrency_holds_across_gateways(
    deployment: Deployment, store: protocols.Store
) -> None:
    pair = await store.client_keys.create(name="pair", limits=ClientKeyLimits(max_concurrent=2))
    first, second = deployment.gateways
    deployment.sim.set_fault("slow-first-byte", delay_ms=4000, times=2)
    seen = len(handshakes(deployment.sim))
    slow = [asyncio.ensure_future(ask(first, pair.plain_key)) for _ in range(2)]
    for _ in range(400):  # until both were admitted and reached the upstream
        if len(handshakes(deployment.sim)) >= seen + 2:
            break
        await asyncio.sleep(0.02)
    assert await ask(second, pair.plain_key) == "429 concurrent_requests"
    assert await asyncio.gather(*slow) == [200, 200]
    assert await ask(second, pair.plain_key) == 200  # both slots came back


async def _revocation_reaches_both_gateways(
    deployment: Deployment, store: protocols.Store
) -> None:
    doomed = await store.client_keys.create(name="doomed")
    assert await burst(deployment, doomed.plain_key, 2) == [200, 200]
    await store.client_keys.revoke(doomed.record.id)
    await asyncio.sleep(1.05)
    assert await burst(deployment, doomed.plain_key, 2) == ["401 ", "401 "]


async def _the_store_away_loses_no_record(
    deployment: Deployment, store: protocols.Store
) -> None:
    steady = await store.client_keys.create(name="steady")
    assert await burst(deployment, steady.plain_key, 4) == [200] * 4  # the key is cached now
    await records_of(store, steady.record.id, 4)
    deployment.forwarder.cut()
    try:
        for _ in range(3):  # across more than one cache second: re-reads fail, answers stay
            assert await burst(deployment, steady.plain_key, 4) == [200] * 4
            await asyncio.sleep(0.5)
        (bucket,) = await store.usage.summary(filters=UsageFilter(key_id=steady.record.id))
        assert bucket.requests == 4  # the outage's records wait in Redis
    finally:
        deployment.forwarder.restore()
    bucket = await records_of(store, steady.record.id, 16)
    assert (bucket.requests, bucket.errors) == (16, 0)
