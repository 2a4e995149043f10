"""Pool replicas with a real egress store (the test's SQLite store), for the egress tests."""

from __future__ import annotations

from typing import Any

from grok2api_settings import Settings
from grok2api_storage import protocols
from grok_web import client as grok_client
from pool_harness import Clock, HotFactory
from prometheus_client import CollectorRegistry
from token_pool import service
from token_pool.egress import clearance


def egress_settings(**sections: Any) -> Settings:
    return Settings.model_validate({"token": {"auto_refresh": False}, **sections})


class EgressPool:
    """Builds ``PoolService`` replicas sharing one store and one hot state."""

    def __init__(self, *, store: protocols.Store, hot_factory: HotFactory, clock: Clock) -> None:
        self.store = store
        self.hot_factory = hot_factory
        self.clock = clock
        self.settings = egress_settings()
        self.services: list[service.PoolService] = []

    async def replica(
        self,
        *,
        background: bool = False,
        solver: clearance.SolverFactory = clearance.default_solver,
        grok: grok_client.GrokClient | None = None,
        registry: CollectorRegistry | None = None,
    ) -> service.PoolService:
        svc = service.PoolService(
            settings=lambda: self.settings,
            repo=self.store.accounts,
            egresses=self.store.egresses,
            hot=await self.hot_factory(),
            clock=self.clock,
            registry=registry or CollectorRegistry(),
            solver=solver,
            grok=grok,
        )
        await svc.start(background=background)
        self.services.append(svc)
        return svc

    async def close(self) -> None:
        for svc in self.services:
            await svc.aclose()
