"""The account's grok.com user id: recorded once (``set_user_id``), carried by every later
lease on every replica, kept through a hot-state rebuild; on both hot-state backends
(memory, redis) and every transport (in-process, gRPC unary, gRPC LeaseBatches)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from grok2api_poolclient import client, errors
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome
from grok2api_storage import protocols
from pool_harness import Pool, make_settings
from token_pool import grpc_server, service
from token_pool.hot import memory

USER_ID = "0b6c1f3e-8a52-4d7e-9f10-2c3d4e5f6a7b"


def _cred(n: int) -> str:
    return f"user-id-credential-{n:04d}-" + "u" * 24


@pytest.fixture(params=["in_process", "unary", "batched"])
async def caller(pool: Pool, request: pytest.FixtureRequest) -> AsyncIterator[client.PoolClient]:
    svc = await pool.replica()
    if request.param == "in_process":
        yield svc
        return
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    address = f"127.0.0.1:{serving.port}"
    async with GrpcPoolClient(address, batched=request.param == "batched") as grpc_client:
        yield grpc_client
    await serving.stop(grace=0.5)


async def _lease_user_id(caller: client.PoolClient, account_id: str) -> str:
    lease = await caller.acquire(model="grok-4", account_id=account_id)
    await caller.release(lease, outcome=Outcome.SUCCESS)
    return lease.user_id


async def test_a_recorded_user_id_is_on_later_leases(caller: client.PoolClient) -> None:
    added = await caller.upsert_account(credential=_cred(1))
    assert await _lease_user_id(caller, added.account_id) == ""
    await caller.set_user_id(added.account_id, USER_ID.upper())  # stored canonical
    assert await _lease_user_id(caller, added.account_id) == USER_ID
    await caller.set_user_id(added.account_id, USER_ID)  # the same again: a no-op
    assert await _lease_user_id(caller, added.account_id) == USER_ID
    await caller.set_user_id(added.account_id, "")
    assert await _lease_user_id(caller, added.account_id) == ""


async def test_refuses_a_non_uuid_and_an_unknown_account(caller: client.PoolClient) -> None:
    added = await caller.upsert_account(credential=_cred(2))
    with pytest.raises(errors.InvalidRequest):
        await caller.set_user_id(added.account_id, "not-a-uuid")
    with pytest.raises(errors.AccountNotFound):
        await caller.set_user_id("0" * 32, USER_ID)
    assert await _lease_user_id(caller, added.account_id) == ""


async def test_a_new_credential_forgets_the_user_id(caller: client.PoolClient) -> None:
    added = await caller.upsert_account(credential=_cred(3))
    await caller.set_user_id(added.account_id, USER_ID)
    await caller.upsert_account(account_id=added.account_id, note="same credential")
    assert await _lease_user_id(caller, added.account_id) == USER_ID
    await caller.upsert_account(account_id=added.account_id, credential=_cred(4))
    assert await _lease_user_id(caller, added.account_id) == ""


async def test_another_replica_leases_it_after_the_notice(pool: Pool) -> None:
    one = await pool.replica(background=True)
    two = await pool.replica(background=True)
    added = await one.upsert_account(credential=_cred(5))
    assert await _lease_user_id(two, added.account_id) == ""  # two caches the identity
    await one.set_user_id(added.account_id, USER_ID)
    seen = ""
    for _ in range(250):  # the notice reaches two's listener asynchronously
        seen = await _lease_user_id(two, added.account_id)
        if seen == USER_ID:
            break
        await asyncio.sleep(0.02)
    assert seen == USER_ID


async def test_a_restarted_replica_and_a_rebuilt_hot_state_keep_it(
    pool: Pool, backend: str, store: protocols.Store, redis_client: aioredis.Redis,
    redis_prefix: str,
) -> None:  # fmt: skip
    first = await pool.replica()
    added = await first.upsert_account(credential=_cred(6))
    await first.set_user_id(added.account_id, USER_ID)
    await first.aclose()
    assert await _lease_user_id(await pool.replica(), added.account_id) == USER_ID
    # the hot state lost: a fresh one (memory) or the flushed prefix (redis) is rebuilt
    # from the durable store
    if backend == "redis":
        keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}:*")]
        await redis_client.delete(*keys)
        rebuilt = await pool.replica()
    else:
        rebuilt = service.PoolService(
            settings=make_settings, repo=store.accounts, hot=memory.MemoryHotState(),
            clock=pool.clock,
        )  # fmt: skip
        await rebuilt.start(background=False)
        pool.services.append(rebuilt)
    assert await _lease_user_id(rebuilt, added.account_id) == USER_ID
