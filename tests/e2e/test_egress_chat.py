"""Chats leave through their account's egress: the token pool and the gateway in one
process (the gateway reaching the pool in process, or over gRPC), the simulator enforcing
Cloudflare clearance per (client address, User-Agent), two egresses through two real
tinyproxy instances exiting from their own loopback addresses, and the
FlareSolverr-compatible solver.

Each egress starts with a clearance the solver obtained through its proxy ten minutes ago
(older than the pool's "just refreshed" window, so a challenge asks for a new one). Every
account carries its egress's name as a tag, so a client key with that tag reaches that
egress only; accounts are picked least recently used first, so the test knows which
account (and egress) a chat starts on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openai
import pytest
from gateway.app import create_app
from grok2api_poolclient import egresses, leases
from grok2api_poolclient.accounts import AccountStatus
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok2api_storage import load_cipher, open_store, protocols, records
from grok_sim.testing import SimHandle, SolverHandle, running_solver
from grok_web.client import GrokClient
from grok_web.options import ClientOptions
from prometheus_client import CollectorRegistry
from token_pool import grpc_server
from token_pool.hot.memory import MemoryHotState
from token_pool.service import PoolService

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "egress"))
sys.path.insert(0, str(TESTS / "gateway"))
from egress_proxies import Credentials, RunningProxy, free_port, running_tinyproxy  # noqa: E402
from gateway_fakes import serve  # noqa: E402

pytestmark = pytest.mark.e2e

EXITS = {"eu": "127.0.0.41", "us": "127.0.0.42"}
CREDENTIALS = Credentials(username="eu-user", password="eu-pr0xy-s3cret")  # eu's proxy only
ACCOUNTS = ("sso-egress-1", "sso-egress-2", "sso-egress-3", "sso-egress-4")
USER = [{"role": "user", "content": "Hello through an egress"}]


@dataclasses.dataclass
class Stack:
    sim: SimHandle
    solver: SolverHandle
    pool: PoolService
    store: protocols.Store
    proxies: dict[str, RunningProxy]  # egress name -> its proxy
    egress_ids: dict[str, str]  # egress name -> id
    accounts: dict[str, str]  # credential -> account id
    client: openai.AsyncOpenAI
    clients: list[openai.AsyncOpenAI] = dataclasses.field(default_factory=list)

    async def client_through(self, name: str) -> openai.AsyncOpenAI:
        """A client whose key may only use the accounts of egress ``name`` (each account
        carries its egress's name as a tag)."""
        limits = records.ClientKeyLimits(account_tags=(name,))
        created = await self.store.client_keys.create(name=f"via-{name}", limits=limits)
        client = openai.AsyncOpenAI(
            base_url=str(self.client.base_url), api_key=created.plain_key, max_retries=0
        )
        self.clients.append(client)
        return client

    async def egress_of(self) -> dict[str, str]:
        """credential -> the name of the egress its account is bound to."""
        bindings = await self.store.egresses.bindings()
        names = {egress_id: name for name, egress_id in self.egress_ids.items()}
        return {cred: names[bindings[acct]] for cred, acct in self.accounts.items()}

    async def clearance(self, name: str) -> tuple[str, str]:
        """The egress's stored cf_clearance value and the user agent it was obtained with."""
        egress = await self.store.egresses.get(self.egress_ids[name])
        assert egress is not None and egress.clearance is not None
        return _cookie(egress.clearance.cookies, "cf_clearance"), egress.clearance.user_agent

    async def chat(self, client: openai.AsyncOpenAI | None = None) -> str:
        client = client or self.client
        answer = await client.chat.completions.create(model="grok-4", messages=USER)
        content = answer.choices[0].message.content
        assert content
        return content


@pytest.fixture(scope="module")
def solver() -> Iterator[SolverHandle]:
    with running_solver() as handle:
        yield handle


@pytest.fixture(params=[("mgw", "in_process"), ("rest", "grpc")], ids=["mgw", "rest-grpc"])
async def stack(
    request: pytest.FixtureRequest, sim: SimHandle, solver: SolverHandle, tmp_path: Path
) -> AsyncIterator[Stack]:
    """``grpc``: the gateway reaches the pool over its gRPC server (the split deployment's
    transport: leases carry their egress route through the proto)."""
    protocol, transport = request.param
    live = LiveSettings(Settings.model_validate({
        "data_dir": str(tmp_path),
        "network": {"base_url": sim.base_url, "assets_url": sim.base_url,
                    "chat_protocol": protocol},
        "retry": {"retry_backoff_base": 0.0, "retry_backoff_max": 0.05, "max_retry": 3},
        "chat": {"dynamic_statsig": False},
        # least recently used first: the test knows which account the next chat gets
        "token": {"selection_policy": "round_robin", "auto_refresh": False},
        # two network failures in a row through an egress make it unreachable (each of its
        # two accounts fails once, then cools): the dead proxy test
        "egress": {"solver_url": solver.base_url, "unreachable_threshold": 2},
    }))  # fmt: skip
    with contextlib.ExitStack() as proxies:
        started = {
            name: proxies.enter_context(
                running_tinyproxy(
                    exit_address=address,
                    workdir=tmp_path / f"proxy-{name}",
                    credentials=CREDENTIALS if name == "eu" else None,
                )
            )
            for name, address in EXITS.items()
        }
        store = await open_store(
            live.current, cipher=load_cipher(live.current, allow_generate=True)
        )
        await store.migrate()
        egress_ids = {
            name: (await store.egresses.add(_egress(name, proxy, solver, sim))).id
            for name, proxy in started.items()
        }
        pool = PoolService(
            settings=lambda: live.current, repo=store.accounts, egresses=store.egresses,
            hot=MemoryHotState(), registry=CollectorRegistry(),
        )  # fmt: skip
        await pool.start(background=False)
        sim.require_clearance()
        accounts = {}
        for credential in ACCOUNTS:
            sim.add_account(credential)
            added = await pool.upsert_account(credential=credential, tier=leases.Tier.BASIC)
            accounts[credential] = added.account_id
        bindings = await store.egresses.bindings()
        names = {egress_id: name for name, egress_id in egress_ids.items()}
        for account_id in accounts.values():  # tags to pick an egress's accounts by
            await pool.upsert_account(account_id=account_id, tags=[names[bindings[account_id]]])
        grok = GrokClient(options=ClientOptions.from_settings(live.current))
        server, remote = None, None
        if transport == "grpc":
            server = await grpc_server.create_server(pool, address="127.0.0.1:0")
            remote = GrpcPoolClient(f"127.0.0.1:{server.port}")
        app = create_app(
            settings=live, pool=remote or pool, grok=grok, client_keys=store.client_keys
        )
        try:
            async with (
                serve(app) as base_url,
                openai.AsyncOpenAI(
                    base_url=base_url + "/v1", api_key="sk-egress", max_retries=0
                ) as client,
            ):
                stack = Stack(
                    sim=sim,
                    solver=solver,
                    pool=pool,
                    store=store,
                    proxies=started,
                    egress_ids=egress_ids,
                    accounts=accounts,
                    client=client,
                )
                try:
                    yield stack
                finally:
                    for opened in stack.clients:
                        await opened.close()
        finally:
            if remote is not None and server is not None:
                await remote.aclose()
                await server.stop(grace=0.5)
            await grok.aclose()
            await pool.aclose()
            await store.aclose()
            sim.require_clearance(False)


def _egress(
    name: str, proxy: RunningProxy, solver: SolverHandle, sim: SimHandle
) -> records.NewEgress:
    """An egress through ``proxy`` with the clearance the solver gets through it, dated
    ten minutes back."""
    solved = solver.solve(sim.base_url + "/", proxy=proxy.flaresolverr_proxy())
    assert solved["status"] == "ok", solved
    solution = solved["solution"]
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in solution["cookies"])
    clearance = records.Clearance(
        cookies=cookies, user_agent=solution["userAgent"],
        obtained_at=datetime.now(UTC) - timedelta(minutes=10),
        source=records.ClearanceSource.SOLVER,
    )  # fmt: skip
    return records.NewEgress(name=name, proxy_url=proxy.url(), clearance=clearance)


def _cookie(header: str, name: str) -> str:
    pairs = dict(p.strip().split("=", 1) for p in header.split(";") if "=" in p)
    return pairs[name]


def _upstream(sim: SimHandle, since: int = 0) -> dict[str, list[dict[str, Any]]]:
    """credential -> the simulator's records of requests made with it (after ``since``)."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for record in sim.requests()[since:]:
        cookie = {k.lower(): v for k, v in record["headers"].items()}.get("cookie", "")
        for credential in ACCOUNTS:
            if f"sso={credential}" in cookie:
                seen.setdefault(credential, []).append(record)
    return seen


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


async def _assert_left_through_their_egresses(
    stack: Stack, upstream: dict[str, list[dict[str, Any]]]
) -> None:
    """Every request made with an account came from its egress's exit address with that
    egress's clearance and the user agent the clearance was obtained with."""
    egress_of = await stack.egress_of()
    for credential, seen in upstream.items():
        name = egress_of[credential]
        clearance, user_agent = await stack.clearance(name)
        for record in seen:
            headers = {k.lower(): v for k, v in record["headers"].items()}
            assert record["client"] == EXITS[name], record["path"]
            assert f"cf_clearance={clearance}" in headers["cookie"], record["path"]
            assert headers["user-agent"] == user_agent, record["path"]


async def test_each_chat_leaves_through_its_accounts_egress(stack: Stack) -> None:
    assert sorted((await stack.egress_of()).values()) == ["eu", "eu", "us", "us"]
    challenged_before = stack.sim.clearance()["challenged"]

    for _ in ACCOUNTS:
        await stack.chat()

    upstream = _upstream(stack.sim)
    assert set(upstream) == set(ACCOUNTS)  # round robin: every account answered once
    await _assert_left_through_their_egresses(stack, upstream)
    assert stack.sim.clearance()["challenged"] == challenged_before  # no chat was challenged


async def test_a_challenge_is_solved_through_the_egress_and_the_chat_still_succeeds(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in ACCOUNTS:
        await stack.chat()
    # Least recently used first: the next chat starts on the account the first one used.
    order = sorted(_upstream(stack.sim).items(), key=lambda item: item[1][0]["time"])
    name = (await stack.egress_of())[order[0][0]]
    exit_address, proxy = EXITS[name], stack.proxies[name]
    old, _ = await stack.clearance(name)
    issued = stack.sim.clearances_issued(exit_address)
    challenged = stack.sim.clearance()["challenged"].get(exit_address, 0)
    solves = stack.solver.stats()["solves"].get(proxy.url(with_credentials=False), 0)

    stack.sim.challenge(exit_address, times=1)
    await stack.chat()

    assert stack.sim.clearance()["challenged"][exit_address] > challenged

    async def refreshed() -> bool:
        return (await stack.clearance(name))[0] != old

    await _eventually(refreshed)  # the pool asked the solver, through that egress's proxy
    assert stack.sim.clearances_issued(exit_address) == issued + 1
    assert stack.solver.stats()["solves"][proxy.url(with_credentials=False)] == solves + 1
    for account_id in stack.accounts.values():  # the egress's fault, not an account's
        account = await stack.pool.get_account(account_id)
        assert account.status is AccountStatus.ACTIVE and account.fail_count == 0
    mark = len(stack.sim.requests())
    through = await stack.client_through(name)
    for _ in range(2):
        await stack.chat(through)
    upstream = _upstream(stack.sim, since=mark)
    assert {(await stack.egress_of())[credential] for credential in upstream} == {name}
    await _assert_left_through_their_egresses(stack, upstream)  # with the new clearance
    assert f"egress={name}" in caplog.text  # the failed attempt's log names the egress
    assert CREDENTIALS.password not in caplog.text
    assert all(address not in caplog.text for address in EXITS.values())


async def test_a_dead_proxy_moves_its_accounts_and_every_chat_succeeds(stack: Stack) -> None:
    """The us egress's proxy goes away (its address now refuses connections): the chats that
    start on its accounts fail there and are answered through eu, the egress is marked
    unreachable and every account moves to eu; no account is invalidated."""
    dead = f"http://127.0.0.1:{free_port()}"
    await stack.pool.update_egress("us", proxy_url=dead)
    mark = len(stack.sim.requests())

    for _ in range(2 * len(ACCOUNTS)):
        await stack.chat()

    listed = {egress.name: egress for egress in await stack.pool.list_egresses()}
    assert listed["us"].state is egresses.EgressState.UNREACHABLE
    assert (listed["eu"].bound_accounts, listed["us"].bound_accounts) == (len(ACCOUNTS), 0)
    assert set((await stack.egress_of()).values()) == {"eu"}
    upstream = _upstream(stack.sim, since=mark)
    assert all(
        record["client"] == EXITS["eu"] for seen in upstream.values() for record in seen
    )  # nothing reached the upstream any other way
    for account_id in stack.accounts.values():
        account = await stack.pool.get_account(account_id)
        assert account.status is not AccountStatus.INVALID
