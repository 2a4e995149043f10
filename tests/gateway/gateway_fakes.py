"""Test doubles for gateway tests: a fake pool, a scripted fake Grok client, a served app."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import openai
import uvicorn
from fastapi import FastAPI
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import leases
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from grok_web import assets
from grok_web import events as ev


@dataclasses.dataclass
class Release:
    account_id: str
    outcome: leases.Outcome
    retry_after: float | None


class FakePool:
    """Implements the ``PoolClient`` protocol over a list of account ids, in order."""

    def __init__(self, accounts: Sequence[str] = ("acct-1", "acct-2", "acct-3")):
        self.accounts = list(accounts)
        self.acquired: list[str] = []
        self.releases: list[Release] = []
        self._ids = itertools.count(1)
        self.busy_answers = 0  # how many acquires answer ALL_BUSY first
        self.lease_ttl = 300.0
        self.renewals: list[str] = []  # lease ids, one per renew call
        self.renew_answers: list[float | Exception | None] = []  # scripted, then a fresh TTL
        self.preferred: list[str] = []  # the prefer_tier of every acquire
        self.pinned: list[str] = []  # the account_id of every acquire ("" = any)
        self.tagged: list[tuple[str, ...]] = []  # the account_tags of every acquire
        self.tags: dict[str, set[str]] = {}  # account id -> its tags (none when absent)
        self.egresses: dict[str, leases.EgressRoute] = {}  # account id -> its bound egress

    async def acquire(self, *, model: str, cost: int | None = None,
                      exclude: Sequence[str] = (), request_id: str = "",
                      prefer_tier: str = "", account_id: str = "",
                      account_tags: Sequence[str] = ()) -> leases.Lease:
        self.preferred.append(prefer_tier)
        self.pinned.append(account_id)
        self.tagged.append(tuple(account_tags))
        if self.busy_answers:
            self.busy_answers -= 1
            raise pool_errors.PoolExhausted("busy", reason=pool_errors.ExhaustedReason.ALL_BUSY)
        for account in self.accounts:
            carries = not account_tags or self.tags.get(account, set()) & set(account_tags)
            if account not in exclude and account_id in ("", account) and carries:
                self.acquired.append(account)
                return leases.Lease(
                    lease_id=f"lease-{next(self._ids)}", account_id=account,
                    credential=f"cred-{account}", tier=leases.Tier.BASIC, mode="auto",
                    cost=cost or 1, expires_at=time.time() + self.lease_ttl,
                    egress=self.egresses.get(account),
                )
        raise pool_errors.PoolExhausted(
            "no account", reason=pool_errors.ExhaustedReason.NO_ACCOUNT_OF_TIER
        )

    async def release(self, lease: leases.Lease, *, outcome: leases.Outcome,
                      retry_after: float | None = None,
                      quota: Sequence[leases.QuotaFigures] = ()) -> None:
        self.releases.append(Release(lease.account_id, outcome, retry_after))

    async def renew(self, lease: leases.Lease) -> float | None:
        self.renewals.append(lease.lease_id)
        answer = self.renew_answers.pop(0) if self.renew_answers else time.time() + self.lease_ttl
        if isinstance(answer, Exception):
            raise answer
        return answer

    def outcomes(self) -> list[tuple[str, leases.Outcome]]:
        return [(r.account_id, r.outcome) for r in self.releases]


Script = Callable[[str, Any], AsyncIterator[Any]]


def reply(*events: Any, delay: float = 0.0) -> Script:
    """A script that yields ``events`` (an exception instance is raised at its place)."""

    async def run(credential: str, request: Any) -> AsyncIterator[Any]:
        yield ev.ConversationStarted(conversation_id="c-1")
        for event in events:
            if delay:
                await asyncio.sleep(delay)
            if isinstance(event, BaseException):
                raise event
            yield event

    return run


def text_reply(*texts: str, reasoning: Sequence[str] = ()) -> Script:
    items: list[Any] = [ev.ReasoningDelta(text=t) for t in reasoning]
    items += [ev.TextDelta(text=t) for t in texts]
    items.append(ev.Final(response_id="r-1", message="".join(texts)))
    return reply(*items)


class FakeGrok:
    """Scripted ``GrokClient``: ``scripts`` maps credential → script (``"*"`` = any)."""

    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}
        self.requests: list[tuple[str, Any]] = []
        self.user_ids: list[str] = []  # the user_id each chat was given
        self.egresses: list[Any] = []  # the egress each chat was given
        self.uploads: list[tuple[str, str, str, bytes]] = []
        self.upload_egresses: list[Any] = []  # the egress each upload was given
        self.open_streams = 0

    async def chat_batches(
        self, *, credential: str, request: Any, user_id: str = "", egress: Any = None
    ) -> AsyncIterator[Any]:
        self.requests.append((credential, request))
        self.user_ids.append(user_id)
        self.egresses.append(egress)
        script = self.scripts.get(credential) or self.scripts["*"]
        self.open_streams += 1
        try:
            async for event in script(credential, request):
                yield [event]
        finally:
            self.open_streams -= 1

    async def upload_file(self, *, credential: str, file_name: str, mime_type: str,
                          content: bytes, egress: Any = None) -> assets.UploadedFile:
        self.uploads.append((credential, file_name, mime_type, content))
        self.upload_egresses.append(egress)
        return assets.UploadedFile(f"file-{len(self.uploads)}", f"users/u/{len(self.uploads)}")


@dataclasses.dataclass
class Gateway:
    base_url: str
    app: FastAPI
    live: LiveSettings
    pool: FakePool
    grok: FakeGrok

    clients: list[openai.AsyncOpenAI] = dataclasses.field(default_factory=list)

    def client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        kwargs.setdefault("api_key", "sk-test")
        client = openai.AsyncOpenAI(base_url=self.base_url + "/v1", max_retries=0, **kwargs)
        self.clients.append(client)
        return client


class _Server(uvicorn.Server):
    """uvicorn's server, going into its shutdown as soon as ``stop`` is called: uvicorn's
    own main loop looks for ``should_exit`` every 0.1 s, which every test serving an app
    paid on teardown (0.05 s on average, over hundreds of tests)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # the default headers (Date, Server), as uvicorn's first tick
        await self._exit.wait()

    def stop(self) -> None:
        self.should_exit = True
        self._exit.set()


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on an ephemeral loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", loop="none")
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await task


def make_settings(**sections: Any) -> LiveSettings:
    data: dict[str, Any] = {"retry": {"retry_backoff_base": 0.0}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return LiveSettings(Settings.model_validate(data))


