"""Upstream account actions and asset listing, in-process and over gRPC, against the
simulator; sorted listing pages over 10,000 accounts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from grok2api_poolclient import accounts, errors
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Outcome, Tier
from grok2api_settings import Settings
from grok2api_storage import records as stored
from grok_web import client as grok_client
from grok_web import options as grok_options
from pool_harness import Pool
from token_pool import actions, grpc_server
from token_pool.hot import base

CRED = "action-credential-" + "a" * 24
Action = accounts.AccountAction


@pytest.fixture(params=["in_process", "grpc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def grok(sim) -> AsyncIterator[grok_client.GrokClient]:  # type: ignore[no-untyped-def]
    url = sim.base_url
    settings = Settings.model_validate(
        {"network": {"base_url": url, "accounts_url": url, "assets_url": url}}
    )
    upstream = grok_client.GrokClient(options=grok_options.ClientOptions.from_settings(settings))
    yield upstream
    await upstream.aclose()


async def _client(
    pool: Pool, transport: str, upstream: actions.AccountUpstream | None
) -> AsyncIterator[PoolClient]:
    svc = await pool.replica(upstream=upstream)
    if transport == "in_process":
        yield svc
        return
    serving = await grpc_server.create_server(svc, address="127.0.0.1:0")
    async with GrpcPoolClient(f"127.0.0.1:{serving.port}") as remote:
        yield remote
    await serving.stop(grace=0.5)


@pytest.fixture
async def client(
    pool: Pool, transport: str, grok: grok_client.GrokClient
) -> AsyncIterator[PoolClient]:
    async for built in _client(pool, transport, actions.GrokAccountUpstream(grok)):
        yield built


async def test_account_settings_reach_the_upstream_with_one_event_per_account(
    client: PoolClient, sim  # type: ignore[no-untyped-def]
) -> None:
    creds = [f"{CRED}{n}" for n in range(3)]
    ids = []
    for cred in creds:
        sim.add_account(cred)
        ids.append((await client.upsert_account(credential=cred)).account_id)
    for action in (Action.ACCEPT_TOS, Action.SET_BIRTH_DATE, Action.ENABLE_NSFW):
        events = [e async for e in client.run_action(action, ids)]
        assert [e.done for e in events] == [1, 2, 3, 3]
        assert sorted(e.account_id for e in events[:-1]) == sorted(ids)
        assert all(e.ok and e.total == 3 for e in events), events
        assert events[-1].finished and events[-1].account_id == ""
    assert all(a["tosVersion"] and a["birthDate"] and a["nsfw"] for a in sim.accounts())


async def test_a_second_birth_date_is_reported_as_already_done(
    client: PoolClient, sim  # type: ignore[no-untyped-def]
) -> None:
    sim.add_account(CRED)
    account = await client.upsert_account(credential=CRED)
    [_, _] = [e async for e in client.run_action(Action.SET_BIRTH_DATE, [account.account_id])]
    first, summary = [e async for e in client.run_action(Action.SET_BIRTH_DATE, all_accounts=True)]
    assert first.ok and first.already_done and summary.finished


async def test_clear_assets_lists_then_deletes_every_asset_and_counts_them(
    client: PoolClient, sim, grok: grok_client.GrokClient  # type: ignore[no-untyped-def]
) -> None:
    sim.add_account(CRED)
    account = await client.upsert_account(credential=CRED)
    for n in range(55):  # more than one upstream page of 50
        await grok.upload_file(
            credential=CRED, file_name=f"f{n}.txt", mime_type="text/plain", content=b"x"
        )
    page = await client.list_assets(account.account_id, page_size=20)
    assert len(page.assets) == 20 and page.next_page_token
    token = page.next_page_token
    rest = await client.list_assets(account.account_id, page_size=50, page_token=token)
    assert len(rest.assets) == 35 and not rest.next_page_token
    assert not {a.asset_id for a in page.assets} & {a.asset_id for a in rest.assets}
    one, summary = [e async for e in client.run_action(Action.CLEAR_ASSETS, [account.account_id])]
    assert (one.ok, one.assets_found, one.assets_deleted) == (True, 55, 55)
    assert (summary.finished, summary.assets_found, summary.assets_deleted) == (True, 55, 55)
    assert (await client.list_assets(account.account_id)).assets == ()


async def test_a_rejected_credential_fails_its_account_and_the_summary(
    client: PoolClient, sim  # type: ignore[no-untyped-def]
) -> None:
    sim.add_account(CRED)
    good = await client.upsert_account(credential=CRED)
    bad = await client.upsert_account(credential=CRED + "unknown")
    events = [e async for e in client.run_action(Action.ACCEPT_TOS, all_accounts=True)]
    by_id = {e.account_id: e for e in events[:-1]}
    assert by_id[good.account_id].ok
    assert not by_id[bad.account_id].ok and by_id[bad.account_id].error == "credential rejected"
    assert not events[-1].ok and events[-1].error == "1 failed"


async def test_assets_of_an_unknown_account_are_not_found(client: PoolClient) -> None:
    with pytest.raises(errors.AccountNotFound):
        await client.list_assets("no-such-account")


class BlockingUpstream:
    """Every ToS call blocks until cancelled; counts calls started and cancelled."""

    def __init__(self) -> None:
        self.started = 0
        self.running = 0
        self.cancelled = 0
        self.some_started = asyncio.Event()

    async def accept_tos(self, credential: str) -> None:
        self.started += 1
        self.running += 1
        self.some_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.running -= 1

    async def set_birth_date(self, credential: str) -> bool:
        raise NotImplementedError

    async def enable_nsfw(self, credential: str) -> None:
        raise NotImplementedError

    async def list_assets(
        self, credential: str, *, page_size: int, page_token: str
    ) -> accounts.AssetPage:
        raise NotImplementedError

    async def delete_asset(self, credential: str, asset_id: str) -> None:
        raise NotImplementedError


async def test_closing_the_stream_cancels_the_running_calls_within_the_caps(
    pool: Pool, transport: str
) -> None:
    upstream = BlockingUpstream()
    pool.settings = Settings.model_validate({
        "token": {"auto_refresh": False},
        "performance": {"nsfw_max_concurrent": 3, "nsfw_batch_size": 5, "nsfw_max_tokens": 8},
    })  # fmt: skip
    async for client in _client(pool, transport, upstream):
        for n in range(12):
            await client.upsert_account(credential=f"{CRED}{n}")
        stream = client.run_action(Action.ACCEPT_TOS, all_accounts=True)
        reader = asyncio.create_task(anext(stream))
        await asyncio.wait_for(upstream.some_started.wait(), 5)
        await asyncio.sleep(0.1)
        assert upstream.started == 3  # nsfw_max_concurrent
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await stream.aclose()  # type: ignore[attr-defined]
        for _ in range(50):
            if upstream.running == 0:
                break
            await asyncio.sleep(0.05)
        assert (upstream.running, upstream.cancelled, upstream.started) == (0, 3, 3)


async def test_the_action_takes_at_most_max_tokens_accounts(pool: Pool, transport: str) -> None:
    pool.settings = Settings.model_validate({
        "token": {"auto_refresh": False}, "performance": {"assets_max_tokens": 2},
    })  # fmt: skip
    async for client in _client(pool, transport, None):
        for n in range(4):
            await client.upsert_account(credential=f"{CRED}{n}")
        events = [e async for e in client.run_action(Action.CLEAR_ASSETS, all_accounts=True)]
        assert [e.total for e in events] == [2, 2, 2]
        assert events[0].error == "no upstream client configured"


ORDERS = (
    (accounts.AccountSort.ID, False),
    (accounts.AccountSort.CREATED, True),
    (accounts.AccountSort.REMAINING, True),
    (accounts.AccountSort.LAST_USED, True),
    (accounts.AccountSort.FAILURES, False),
)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["memory"])
async def test_sorted_pages_over_ten_thousand_accounts_are_complete_and_consistent(
    pool: Pool,
) -> None:
    await pool.store.accounts.bulk_upsert(
        stored.NewAccount(
            credential=f"bulk-credential-{n:05d}-" + "b" * 20,
            tier=(stored.AccountTier.BASIC, stored.AccountTier.SUPER)[n % 2],
            tags=("even",) if n % 2 == 0 else ("odd",),
            note=f"n{n % 97}",
        )
        for n in range(10_000)
    )
    svc = await pool.replica()  # the hot state is built from the store
    for n in range(60):  # some accounts used, some failing, quota spent unevenly
        lease = await svc.acquire(model="grok-4")
        pool.clock.advance(1)
        await svc.release(lease, outcome=(Outcome.SUCCESS, Outcome.TRANSIENT)[n % 2])
    for sort, descending in ORDERS:
        seen: list[accounts.Account] = []
        token = ""
        while True:
            page = await svc.list_accounts(
                page_size=1000, page_token=token, sort=sort, descending=descending
            )
            assert page.total == 10_000
            seen.extend(page.accounts)
            token = page.next_page_token
            if not token:
                break
        ids = [a.account_id for a in seen]
        assert len(ids) == len(set(ids)) == 10_000
        keys = [_key(a, sort) for a in seen]
        assert keys == sorted(keys, reverse=descending)
    filtered = await svc.list_accounts(tier=Tier.SUPER, tag="odd", search="n5", page_size=1000)
    assert filtered.total == sum(1 for n in range(1, 10_000, 2) if str(n % 97).startswith("5"))
    assert all(a.tier is Tier.SUPER and "odd" in a.tags for a in filtered.accounts)


async def test_a_listing_in_a_durable_order_reads_the_live_state_of_its_page_only(
    pool: Pool,
) -> None:
    await pool.store.accounts.bulk_upsert(
        stored.NewAccount(credential=f"page-credential-{n:04d}-" + "c" * 20) for n in range(300)
    )
    read: list[int] = []
    shared = pool.hot_factory

    async def counting() -> base.HotState:
        hot = await shared()
        reading = hot.accounts

        async def accounts_read(account_ids: Sequence[str] | None = None) -> Any:
            read.append(len(account_ids) if account_ids is not None else -1)
            return await reading(account_ids)

        hot.accounts = accounts_read  # type: ignore[method-assign]
        return hot

    pool.hot_factory = counting
    svc = await pool.replica()
    lease = await svc.acquire(model="grok-4")  # a live field the page must show
    for sort, descending in ORDERS[:2]:  # id, creation
        read.clear()
        everything = await svc.list_accounts(page_size=300, sort=sort, descending=descending)
        second = await svc.list_accounts(
            page_size=50, page_token="50", sort=sort, descending=descending
        )
        assert read == [300, 50]
        assert second.total == 300 and second.next_page_token == "100"
        assert second.accounts == everything.accounts[50:100]
        leased = [a for a in everything.accounts if a.account_id == lease.account_id]
        assert [a.inflight for a in leased] == [1]
    read.clear()
    await svc.list_accounts(page_size=50, sort=accounts.AccountSort.REMAINING)
    assert read == [300]  # a live order reads every match
    await svc.release(lease, outcome=Outcome.SUCCESS)


def _key(account: accounts.Account, sort: accounts.AccountSort) -> Any:
    return {
        accounts.AccountSort.ID: account.account_id,
        accounts.AccountSort.REMAINING: account.remaining,
        accounts.AccountSort.LAST_USED: account.last_used_at or 0.0,
        accounts.AccountSort.FAILURES: account.fail_count,
        accounts.AccountSort.CREATED: account.created_at,
    }[sort]
