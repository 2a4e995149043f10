"""``EgressPool``: what the leaser and the management API use of the egress package.

Egress changes travel between replicas as a notice on the hot state's change channel
(``NOTICE``); each replica then reloads the egresses from the store and rebinds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence

from grok2api_jobs import raise_if_cancelling
from grok2api_poolclient.leases import EgressRoute, Outcome
from grok2api_settings import Settings
from grok2api_storage import errors as storage_errors
from grok2api_storage import protocols, records
from prometheus_client import CollectorRegistry

from ..hot import base
from . import binding, clearance
from . import metrics as egress_metrics
from . import registry as registry_mod

log = logging.getLogger(__name__)

NOTICE = json.dumps({"topic": "egresses"}).encode()
REBIND_CHECK_SECONDS = 5.0


def is_notice(message: bytes) -> bool:
    return message == NOTICE


class NoStoredEgresses:
    """The egress repository of a pool built without one (tests, embedded stacks): no
    stored egress, so the settings' one-egress pool or none applies."""

    async def add(self, egress: records.NewEgress) -> records.EgressRecord:
        raise storage_errors.InvalidRecordError("this pool was built without an egress store")

    async def get(self, egress_id: str) -> records.EgressRecord | None:
        return None

    async def find_by_name(self, name: str) -> records.EgressRecord | None:
        return None

    async def list(self) -> tuple[records.EgressRecord, ...]:
        return ()

    async def update(self, egress_id: str, patch: records.EgressPatch) -> records.EgressRecord:
        raise storage_errors.NotFoundError(f"no egress {egress_id}")

    async def remove(self, egress_id: str) -> bool:
        return False

    async def bindings(self) -> dict[str, str]:
        return {}

    async def set_bindings(self, bindings: Mapping[str, str | None]) -> None:
        return None


class EgressPool:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        hot: base.HotState,
        repo: protocols.EgressRepository,
        clock: Callable[[], float],
        registry: CollectorRegistry,
        solver: clearance.SolverFactory = clearance.default_solver,
    ) -> None:
        self._settings = settings
        self._hot = hot
        self.repo = repo
        self._clock = clock
        self.registry = registry_mod.EgressRegistry(settings=settings, repo=repo)
        self._loading = asyncio.Lock()
        self.metrics = egress_metrics.EgressMetrics.on(registry)
        self.binder = binding.EgressBinder(hot=hot, repo=repo, registry=self.registry, clock=clock)
        self.clearance = clearance.ClearanceRefresher(
            settings=settings, hot=hot, repo=repo, registry=self.registry,
            metrics=self.metrics, announce=self.announce, clock=clock, solver=solver,
        )  # fmt: skip

    async def start(self) -> None:
        """Load the egresses and bind every account in the hot state."""
        await self.reload()

    async def reload(self) -> None:
        await self.registry.load()
        await self.binder.bind_all()

    async def announce(self) -> None:
        await self._hot.publish(NOTICE)

    def route(self, egress_id: str) -> EgressRoute | None:
        return self.registry.route(egress_id)

    async def route_of(self, egress_id: str) -> EgressRoute | None:
        """The route of a lease's egress; an id this replica does not know yet (added on
        another replica moments ago, its notice still on the way) reloads the egresses
        first, once for every lease that waits on it."""
        route = self.registry.route(egress_id)
        if route is not None or not egress_id or egress_id == base.NO_EGRESS:
            return route
        async with self._loading:
            route = self.registry.route(egress_id)
            if route is None:
                await self.registry.load()
                route = self.registry.route(egress_id)
        if route is None:
            log.warning("egress_unknown_for_lease egress_id=%s: leased without one", egress_id)
        return route

    async def account_changed(self, account_id: str, tags: Sequence[str]) -> None:
        await self.binder.bind_one(account_id, tags)

    async def observe(self, egress: EgressRoute | None, outcome: Outcome) -> None:
        """Count a released lease's outcome against its egress: a challenge asks for a
        clearance refresh; an egress that stops being usable has its accounts moved."""
        if egress is None:
            return
        # the release names the egress by id; its name is ours (removed since: not counted)
        record = self.registry.get(egress.egress_id)
        state = self.registry.health.get(egress.egress_id)
        if record is None or state is None:
            return
        self.metrics.released(record.name, outcome.value)
        if outcome is Outcome.CHALLENGE:
            self.metrics.challenged(record.name)
            self.clearance.request(record.id)
        policy = self._settings().egress
        if state.record(outcome, now=self._clock(), policy=policy):
            log.warning(
                "egress_unhealthy egress=%s state=%s reason=%s; moving its accounts",
                record.name, state.state(self._clock()), state.last_error,
            )  # fmt: skip
            await self.binder.bind_all()

    async def run_periodically(self) -> None:
        while True:
            await self.maintain()
            raise_if_cancelling()  # the Redis client can lose a cancel (grok2api_jobs)
            await asyncio.sleep(REBIND_CHECK_SECONDS)

    async def maintain(self) -> None:
        """What no notice announces: settings changed live (the settings' egress, the
        default browser and user agent of routes) reload the egresses; egresses usable or
        not by the clock alone (a cooldown ended) rebind. Changes to stored egresses and
        health events act at once without waiting for this."""
        if self.registry.settings_changed:
            log.info("egress_settings_changed: reloading the egresses")
            await self.reload()
        else:
            await self.binder.rebind_if_changed()

    async def show_metrics(self) -> None:
        loads = await self._hot.egress_loads()
        now = self._clock()
        rows = []
        for egress in self.registry.all():
            load = loads.get(egress.id, base.EgressLoad(bound=0, inflight=0))
            rows.append(
                (egress.name, load.bound, load.inflight, self.registry.state(egress.id, now=now))
            )
        self.metrics.gauges.show(rows)

    def hide_metrics(self) -> None:
        self.metrics.gauges.hide()
