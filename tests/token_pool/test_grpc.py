"""The pool over real gRPC: server on port 0, ``GrpcPoolClient`` as the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grok2api_poolclient import errors
from grok2api_poolclient.accounts import AccountStatus, ChangeKind
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome, QuotaFigures, Tier
from grok2api_poolclient.server_info import ServerInfo
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pool_harness import Pool
from token_pool import errors as pool_errors
from token_pool import grpc_server

CRED = "grpc-credential-" + "k" * 24


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["batched", "unary"])
def transport(request: pytest.FixtureRequest) -> str:
    """How the client's acquire and release travel: the LeaseBatches stream or unary calls."""
    return str(request.param)


@pytest.fixture
async def client(pool: Pool, transport: str) -> AsyncIterator[GrpcPoolClient]:
    svc = await pool.replica(background=True)
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    address = f"127.0.0.1:{serving.port}"
    async with GrpcPoolClient(address, batched=transport == "batched") as grpc_client:
        yield grpc_client
    await serving.stop(grace=0.5)


async def test_acquire_and_release_round_trip(client: GrpcPoolClient) -> None:
    added = await client.upsert_account(credential=CRED, tier=Tier.SUPER, tags=["x"], note="n")
    assert added.credential_masked != CRED and CRED not in repr(added)
    lease = await client.acquire(model="grok-4-heavy", request_id="r1")
    assert (lease.credential, lease.tier, lease.mode, lease.cost) == (CRED, Tier.SUPER, "heavy", 1)
    figures = [QuotaFigures(mode="heavy", remaining=9, total=20, window_seconds=7200)]
    await client.release(lease, outcome=Outcome.SUCCESS, quota=figures)
    account = await client.get_account(added.account_id)
    assert account.inflight == 0
    assert [(w.mode, w.remaining, w.total) for w in account.quota] == [("heavy", 9, 20)]


async def test_renew_moves_the_expiry_until_the_lease_is_released(
    client: GrpcPoolClient, pool: Pool
) -> None:
    await client.upsert_account(credential=CRED)
    lease = await client.acquire(model="grok-4")
    pool.clock.advance(120)
    assert await client.renew(lease) == pytest.approx(pool.clock.now + 300)
    await client.release(lease, outcome=Outcome.SUCCESS)
    assert await client.renew(lease) is None


async def test_exhaustion_carries_reason_and_retry_time(client: GrpcPoolClient) -> None:
    await client.upsert_account(credential=CRED)
    lease = await client.acquire(model="grok-4")
    await client.release(lease, outcome=Outcome.RATE_LIMITED, retry_after=90)
    with pytest.raises(errors.PoolExhausted) as caught:
        await client.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.ALL_COOLING
    assert caught.value.retry_at == pytest.approx(lease.expires_at - 300 + 90)



async def test_product_refusals_and_preferred_tiers_cross_the_wire(client: GrpcPoolClient) -> None:
    basic = await client.upsert_account(credential=CRED, tier=Tier.BASIC)
    sup = await client.upsert_account(credential=CRED + "-s", tier=Tier.SUPER)
    video = "grok-imagine-1.0-video"
    lease = await client.acquire(model=video, prefer_tier="super")
    assert lease.account_id == sup.account_id
    await client.release(lease, outcome=Outcome.PRODUCT_REFUSED)
    lease = await client.acquire(model=video, prefer_tier="super")
    assert lease.account_id == basic.account_id  # super was refused video: the fallback
    await client.release(lease, outcome=Outcome.PRODUCT_REFUSED)
    assert (await client.get_account(sup.account_id)).refused_products == ("video",)
    with pytest.raises(errors.PoolExhausted) as caught:
        await client.acquire(model=video)
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_FOR_PRODUCT
    with pytest.raises(errors.InvalidRequest):
        await client.acquire(model=video, prefer_tier="ultra")

async def test_unary_calls_chain_the_rpc_error(pool: Pool) -> None:
    svc = await pool.replica()
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}", batched=False) as unary:
        with pytest.raises(errors.PoolExhausted) as caught:
            await unary.acquire(model="grok-4")
    await serving.stop(grace=0.5)
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_OF_TIER
    assert isinstance(caught.value.__cause__, grpc.RpcError)


async def test_errors_map_to_the_pool_error_tree(client: GrpcPoolClient) -> None:
    with pytest.raises(errors.AccountNotFound):
        await client.get_account("missing")
    with pytest.raises(errors.InvalidRequest):
        await client.acquire(model="no-such-model")
    with pytest.raises(errors.InvalidRequest):
        await client.upsert_account(credential="   ")
    with pytest.raises(errors.PoolExhausted) as caught:
        await client.acquire(model="grok-4")
    assert caught.value.reason is errors.ExhaustedReason.NO_ACCOUNT_OF_TIER


async def test_unreachable_pool_is_unavailable() -> None:
    async with GrpcPoolClient("127.0.0.1:1", timeout=0.5) as dead:
        with pytest.raises(errors.PoolUnavailable):
            await dead.stats()


async def test_lists_with_filters_and_pages_masked(client: GrpcPoolClient) -> None:
    for n in range(5):
        tier = Tier.SUPER if n % 2 else Tier.BASIC
        await client.upsert_account(credential=f"{CRED}-{n}", tier=tier, tags=[f"t{n % 2}"])
    first = await client.list_accounts(page_size=2)
    assert (len(first.accounts), first.total) == (2, 5) and first.next_page_token
    second = await client.list_accounts(page_size=2, page_token=first.next_page_token)
    assert {a.account_id for a in first.accounts}.isdisjoint(a.account_id for a in second.accounts)
    supers = await client.list_accounts(tier=Tier.SUPER)
    assert supers.total == 2 and all(a.tier is Tier.SUPER for a in supers.accounts)
    tagged = await client.list_accounts(tag="t0")
    assert tagged.total == 3
    assert all(CRED not in a.credential_masked for a in first.accounts + second.accounts)


async def test_disable_and_status_filter(client: GrpcPoolClient) -> None:
    acct = await client.upsert_account(credential=CRED)
    await client.upsert_account(account_id=acct.account_id, enabled=False)
    disabled = await client.list_accounts(status=AccountStatus.DISABLED)
    assert [a.account_id for a in disabled.accounts] == [acct.account_id]
    with pytest.raises(errors.PoolExhausted):
        await client.acquire(model="grok-4")
    await client.remove_account(acct.account_id)
    with pytest.raises(errors.AccountNotFound):
        await client.remove_account(acct.account_id)


async def test_watch_streams_account_changes(client: GrpcPoolClient) -> None:
    changes: list = []

    async def follow() -> None:
        async for change in client.watch():
            changes.append(change)
            if len(changes) == 2:
                return

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0.3)
    acct = await client.upsert_account(credential=CRED)
    await client.remove_account(acct.account_id)
    await asyncio.wait_for(watcher, timeout=5)
    assert [c.kind for c in changes] == [ChangeKind.UPSERTED, ChangeKind.REMOVED]
    assert changes[0].account.account_id == acct.account_id and changes[1].account is None


async def test_export_returns_full_credentials(client: GrpcPoolClient) -> None:
    await client.upsert_account(credential=CRED, tier=Tier.SUPER, tags=["a"], note="hi")
    exported = [item async for item in client.export_accounts()]
    assert [(e.credential, e.tier, e.tags, e.note) for e in exported] == [
        (CRED, Tier.SUPER, ("a",), "hi")
    ]


async def test_stats_count_accounts_by_tier_and_status(client: GrpcPoolClient) -> None:
    await client.upsert_account(credential=CRED, tier=Tier.SUPER)
    lease = await client.acquire(model="grok-4")
    stats = await client.stats()
    assert (stats.total_accounts, stats.leases_in_flight) == (1, 1)
    [sup] = [t for t in stats.tiers if t.tier is Tier.SUPER]
    assert sup.by_status == {"active": 1} and sup.remaining_by_mode == {"auto": 139}
    await client.release(lease, outcome=Outcome.SUCCESS)


async def test_health_service_reports_serving(client: GrpcPoolClient) -> None:
    async with grpc.aio.insecure_channel(client.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=grpc_server.SERVICE_NAME))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_graceful_stop_reports_not_serving(pool: Pool) -> None:
    svc = await pool.replica()
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{serving.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        watch = stub.Watch(health_pb2.HealthCheckRequest(service=grpc_server.SERVICE_NAME))
        first = await watch.read()
        stopping = asyncio.create_task(serving.stop(grace=1))
        second = await watch.read()
        await stopping
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_server_info_names_the_store_the_server_was_given(pool: Pool) -> None:
    info = ServerInfo(store_fingerprint="f" * 64, store_kind="local", version="9.9.9")
    serving = await grpc_server.create_server(
        await pool.replica(), address="127.0.0.1:0", info=info
    )
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as remote:
        assert await remote.get_server_info() == info
    await serving.stop(grace=0.5)


async def test_a_server_started_without_a_store_identity_cannot_answer_which_store(
    client: GrpcPoolClient,
) -> None:
    with pytest.raises(errors.PoolUnavailable, match="UNIMPLEMENTED"):
        await client.get_server_info()


async def test_a_second_server_on_a_taken_address_is_refused_naming_token_pool_addr(
    pool: Pool,
) -> None:
    first = await grpc_server.create_server(await pool.replica(), address="127.0.0.1:0")
    address = f"127.0.0.1:{first.port}"
    with pytest.raises(pool_errors.ListenError) as caught:
        await grpc_server.create_server(await pool.replica(), address=address)
    assert str(caught.value).startswith(f"cannot listen on {address} ")
    assert "TOKEN_POOL_ADDR" in str(caught.value)
    await first.stop(grace=0.5)


async def test_grpc_itself_refuses_to_share_a_taken_port(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without SO_REUSEPORT: the kernel, not just the probe in front of it, says no."""
    first = await grpc_server.create_server(await pool.replica(), address="127.0.0.1:0")
    monkeypatch.setattr(grpc_server, "refuse_if_taken", lambda address: None)
    with pytest.raises(pool_errors.ListenError) as caught:
        await grpc_server.create_server(await pool.replica(), address=f"127.0.0.1:{first.port}")
    assert isinstance(caught.value.__cause__, RuntimeError)
    await first.stop(grace=0.5)
