"""Shared helpers of the token pool tests (imported by conftest and test modules)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from grok2api_jobs import leadership as leaders
from grok2api_settings import Settings
from grok2api_storage import protocols
from prometheus_client import REGISTRY, CollectorRegistry
from token_pool import actions, service, usage
from token_pool.hot import base

REDIS_URL = "redis://127.0.0.1:6379/0"
HotFactory = Callable[[], Awaitable[base.HotState]]


class Clock:
    """A settable clock so that expiry and cooldowns are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_settings(**token: Any) -> Settings:
    return Settings.model_validate({"token": {"auto_refresh": False, **token}})


class Pool:
    """Builds service replicas over one store and one shared hot state."""

    def __init__(self, *, store: protocols.Store, hot_factory: HotFactory, clock: Clock) -> None:
        self.store = store
        self.hot_factory = hot_factory
        self.clock = clock
        self.settings = make_settings()
        self.services: list[service.PoolService] = []

    async def replica(
        self,
        *,
        reader: usage.UsageReader | None = None,
        upstream: actions.AccountUpstream | None = None,
        background: bool = False,
        leadership: leaders.Leadership | None = None,
        registry: CollectorRegistry = REGISTRY,
        **token: Any,
    ) -> service.PoolService:
        if token:
            self.settings = make_settings(**token)
        svc = service.PoolService(
            settings=lambda: self.settings,
            repo=self.store.accounts,
            hot=await self.hot_factory(),
            reader=reader,
            upstream=upstream,
            clock=self.clock,
            leadership=leadership,
            registry=registry,
        )
        await svc.start(background=background)
        self.services.append(svc)
        return svc

    async def close(self) -> None:
        for svc in self.services:
            await svc.aclose()
