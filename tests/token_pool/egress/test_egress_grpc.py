"""Every egress management call over real gRPC (``GrpcPoolClient`` against the servicer),
errors included: ``EgressNotFound`` stays distinct from ``AccountNotFound``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from egress_harness import EgressPool, egress_settings
from grok2api_poolclient import egresses, errors
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok_sim.testing import SimHandle, SolverHandle
from token_pool import grpc_server

PROXY = "http://user:s3cret-pass@127.0.0.9:3128"
COOKIE = "cf_clearance=clear-abcdef123456"


@pytest.fixture
async def client(egress_pool: EgressPool) -> AsyncIterator[GrpcPoolClient]:
    svc = await egress_pool.replica(background=True)
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as grpc_client:
        yield grpc_client
    await serving.stop(grace=0.5)


async def test_add_list_update_remove_round_trip(client: GrpcPoolClient) -> None:
    added = await client.add_egress(
        name="eu-1",
        proxy_url=PROXY,
        tags=["eu"],
        max_inflight=3,
        user_agent="UA/1",
        clearance_cookies=COOKIE,
    )
    assert (added.name, added.proxy_masked, added.tags, added.max_inflight) == (
        "eu-1",
        "http://127.0.0.9:3128",
        ("eu",),
        3,
    )
    assert added.clearance is not None and added.clearance.source == "manual"
    assert added.clearance.user_agent == "UA/1"
    assert added.state is egresses.EgressState.HEALTHY and not added.from_settings
    assert "s3cret" not in repr(added) and "clear-abc" not in repr(added)

    listed = await client.list_egresses()
    assert [e.id for e in listed] == [added.id]

    changed = await client.update_egress("eu-1", name="eu-2", enabled=False, tags=[])
    assert (changed.id, changed.name, changed.enabled, changed.tags) == (
        added.id,
        "eu-2",
        False,
        (),
    )
    assert changed.state is egresses.EgressState.DISABLED
    forgotten = await client.update_egress(added.id, clearance_cookies="")
    assert forgotten.clearance is None

    await client.remove_egress("eu-2")
    assert await client.list_egresses() == ()


async def test_unknown_egress_is_egress_not_found_not_account_not_found(
    client: GrpcPoolClient,
) -> None:
    for call in (
        client.update_egress("nope", enabled=False),
        client.remove_egress("nope"),
        client.refresh_clearance("nope"),
    ):
        with pytest.raises(errors.EgressNotFound):
            await call
    with pytest.raises(errors.EgressNotFound):
        async for _ in client.test_egresses(["nope"]):
            pass
    with pytest.raises(errors.AccountNotFound):
        await client.get_account("nope")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"name": " "}, "name"),
        ({"name": "x", "proxy_url": "ftp://h:1"}, "socks5h"),
        ({"name": "x", "proxy_url": "socks4://h:1"}, "socks5h"),
        ({"name": "x", "max_inflight": -1}, "max_inflight"),
        ({"name": "x", "clearance_cookies": "sso=abc"}, "clearance"),
    ],
)
async def test_invalid_additions_say_what_is_wrong(
    client: GrpcPoolClient, fields: dict[str, object], says: str
) -> None:
    with pytest.raises(errors.InvalidRequest, match=says):
        await client.add_egress(**fields)  # type: ignore[arg-type]


async def test_a_taken_name_is_refused(client: GrpcPoolClient) -> None:
    await client.add_egress(name="one")
    with pytest.raises(errors.InvalidRequest, match="exists"):
        await client.add_egress(name="one")
    second = await client.add_egress(name="two")
    with pytest.raises(errors.InvalidRequest, match="exists"):
        await client.update_egress(second.id, name="one")


async def test_refresh_without_a_solver_says_so(client: GrpcPoolClient) -> None:
    added = await client.add_egress(name="direct")
    done = await client.refresh_clearance("direct")
    assert (done.egress_id, done.result) == (added.id, egresses.RefreshResult.NO_SOLVER)
    assert "solver_url" in done.message


async def test_testing_names_nothing_is_refused(client: GrpcPoolClient) -> None:
    with pytest.raises(errors.InvalidRequest, match="all"):
        async for _ in client.test_egresses():
            pass


async def test_test_and_refresh_stream_over_grpc(
    egress_pool: EgressPool, sim: SimHandle, solver: SolverHandle, start_tinyproxy
) -> None:
    sim.require_clearance()
    proxy = start_tinyproxy("127.0.0.41")
    egress_pool.settings = egress_settings(
        network={"base_url": sim.base_url}, egress={"solver_url": solver.base_url}
    )
    svc = await egress_pool.replica(background=True)
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    try:
        async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as grpc_client:
            added = await grpc_client.add_egress(name="px", proxy_url=proxy.url())
            first = [t async for t in grpc_client.test_egresses(["px"])]
            assert [(t.egress_id, t.challenged, t.finished) for t in first] == [
                (added.id, True, False), ("", False, True),
            ]  # fmt: skip
            assert (first[-1].ok, first[-1].done, first[-1].total) == (False, 1, 1)

            done = await grpc_client.refresh_clearance("px")
            assert (done.egress_id, done.result) == (added.id, egresses.RefreshResult.REFRESHED)

            second = [t async for t in grpc_client.test_egresses(all_egresses=True)]
            assert [(t.name, t.ok, t.status) for t in second[:-1]] == [("px", True, 200)]
            assert second[-1].ok and second[-1].finished
            (listed,) = await grpc_client.list_egresses()
            assert listed.clearance is not None and listed.clearance.source == "solver"
            assert listed.latency_ms > 0 and listed.state is egresses.EgressState.HEALTHY
    finally:
        await serving.stop(grace=0.5)
