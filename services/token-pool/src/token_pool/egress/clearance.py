"""Clearance refreshes: scheduled before expiry, on demand after a challenge, or asked for
by an operator; ONE at a time per egress across every replica.

A refresh takes the hot state's lock ``egress-clearance:<id>`` (Redis in a split deployment,
in-process otherwise). A replica that finds the lock taken waits for it, then finds the
clearance the holder stored and does not ask the solver again. A solver that fails leaves
the old clearance in place and the egress is retried after a back-off that doubles from
``RETRY_FIRST_SECONDS`` to ``RETRY_MAX_SECONDS``. Cookies and proxy credentials are never
logged: logs name the egress.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from grok2api_jobs import raise_if_cancelling
from grok2api_settings import Settings
from grok2api_storage import protocols, records

from ..hot import base
from . import metrics as egress_metrics
from . import registry as registry_mod
from . import solver as solver_mod
from .settings_egress import SETTINGS_EGRESS_ID

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 30.0
RETRY_MAX_SECONDS = 1800.0
# A clearance younger than this is not refreshed again on demand: the challenges that
# follow it at once came from calls made with the old one.
FRESH_SECONDS = 30.0
EXPIRY_MARGIN_SECONDS = 120.0
LOCK_POLL_SECONDS = 0.05
SCHEDULE_INTERVAL_SECONDS = 30.0

SolverFactory = Callable[[Settings], "solver_mod.FlareSolverr | None"]


class Result(enum.StrEnum):
    REFRESHED = "refreshed"
    """This replica obtained a new clearance."""
    FRESH = "fresh"
    """The clearance was fresh already (another replica had just refreshed it)."""
    FAILED = "failed"
    NO_SOLVER = "no_solver"
    UNKNOWN = "unknown"
    """No such egress."""


@dataclasses.dataclass(frozen=True)
class Refresh:
    result: Result
    message: str = ""


def default_solver(settings: Settings) -> solver_mod.FlareSolverr | None:
    egress = settings.egress
    if not egress.solver_url:
        return None
    return solver_mod.FlareSolverr(url=egress.solver_url, timeout=egress.solver_timeout_seconds)


class ClearanceRefresher:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        hot: base.HotState,
        repo: protocols.EgressRepository,
        registry: registry_mod.EgressRegistry,
        metrics: egress_metrics.EgressMetrics,
        announce: Callable[[], Awaitable[None]],
        clock: Callable[[], float],
        solver: SolverFactory = default_solver,
    ) -> None:
        self._settings = settings
        self._hot = hot
        self._repo = repo
        self._registry = registry
        self._metrics = metrics
        self._announce = announce
        self._clock = clock
        self._solver = solver
        self._tasks: dict[str, asyncio.Task[Refresh]] = {}
        self._retry_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}

    def request(self, egress_id: str) -> None:
        """Refresh in the background unless one runs here already or the egress is
        backing off after a failure (a challenge asks for this)."""
        running = self._tasks.get(egress_id)
        if running is not None and not running.done():
            return
        if self._clock() < self._retry_at.get(egress_id, 0.0):
            return
        if self._solver(self._settings()) is None:
            return
        task = asyncio.create_task(self.refresh(egress_id), name=f"clearance-{egress_id}")
        self._tasks[egress_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(egress_id, None))

    async def refresh(self, egress_id: str, *, force: bool = False) -> Refresh:
        """Refresh now and answer when done; ``force`` ignores a fresh clearance."""
        solver = self._solver(self._settings())
        if solver is None:
            return Refresh(Result.NO_SOLVER, "no solver is configured (egress.solver_url)")
        if self._registry.get(egress_id) is None:
            return Refresh(Result.UNKNOWN, f"no egress {egress_id}")
        lock = f"egress-clearance:{egress_id}"
        ttl = self._settings().egress.solver_timeout_seconds + 30
        token = await self._hot.try_lock(lock, ttl_seconds=ttl)
        while token is None:
            await asyncio.sleep(LOCK_POLL_SECONDS)
            token = await self._hot.try_lock(lock, ttl_seconds=ttl)
            raise_if_cancelling()  # the Redis client can lose a cancel (grok2api_jobs)
        try:
            egress = await self._current(egress_id)
            if egress is None:
                return Refresh(Result.UNKNOWN, f"no egress {egress_id}")
            if not force and self._fresh(egress):
                return Refresh(Result.FRESH)
            return await self._solve(solver, egress)
        finally:
            await self._hot.unlock(lock, token)

    async def _current(self, egress_id: str) -> records.EgressRecord | None:
        """The egress as stored now (another replica may have just refreshed it)."""
        if egress_id == SETTINGS_EGRESS_ID and self._registry.from_settings:
            return self._registry.get(egress_id)
        egress = await self._repo.get(egress_id)
        if egress is not None:
            self._registry.keep(egress)
        return egress

    def _fresh(self, egress: records.EgressRecord) -> bool:
        clearance = egress.clearance
        if clearance is None:
            return False
        return self._clock() - clearance.obtained_at.timestamp() < FRESH_SECONDS

    async def _solve(
        self, solver: solver_mod.FlareSolverr, egress: records.EgressRecord
    ) -> Refresh:
        started = self._clock()
        try:
            solution = await solver.solve(
                target=self._settings().network.base_url, proxy_url=egress.proxy_url
            )
        except solver_mod.SolverError as exc:
            return self._failed(egress, str(exc))
        now = self._clock()
        clearance = records.Clearance(
            cookies=solution.cookies,
            user_agent=solution.user_agent,
            obtained_at=datetime.fromtimestamp(now, UTC),
            expires_at=solution.expires_at,
            source=records.ClearanceSource.SOLVER,
        )
        if egress.id == SETTINGS_EGRESS_ID and self._registry.from_settings:
            self._registry.keep(dataclasses.replace(egress, clearance=clearance))
        else:
            updated = await self._repo.update(egress.id, records.EgressPatch(clearance=clearance))
            self._registry.keep(updated)
            await self._announce()
        self._registry.health[egress.id].refreshed(now)
        self._retry_at.pop(egress.id, None)
        self._backoff.pop(egress.id, None)
        self._metrics.refreshed(egress.name, "ok")
        log.info("egress_clearance_refreshed egress=%s seconds=%.1f", egress.name, now - started)
        return Refresh(Result.REFRESHED)

    def _failed(self, egress: records.EgressRecord, message: str) -> Refresh:
        delay = min(self._backoff.get(egress.id, RETRY_FIRST_SECONDS / 2) * 2, RETRY_MAX_SECONDS)
        self._backoff[egress.id] = delay
        self._retry_at[egress.id] = self._clock() + delay
        health = self._registry.health.get(egress.id)
        if health is not None:
            health.last_error = message
        self._metrics.refreshed(egress.name, "failed")
        log.warning(
            "egress_clearance_failed egress=%s retry_in=%.0fs error=%s",
            egress.name, delay, message,
        )  # fmt: skip
        return Refresh(Result.FAILED, message)

    def due(self, egress: records.EgressRecord, now: float) -> bool:
        """Whether the schedule should refresh this egress now."""
        if not egress.enabled or now < self._retry_at.get(egress.id, 0.0):
            return False
        clearance = egress.clearance
        if clearance is None:
            return True
        expires = clearance.expires_at
        if expires is not None and expires.timestamp() - EXPIRY_MARGIN_SECONDS <= now:
            return True
        refresh_after = self._settings().egress.clearance_refresh_seconds
        return (
            clearance.source is records.ClearanceSource.SOLVER
            and now - clearance.obtained_at.timestamp() >= refresh_after
        )

    async def run_periodically(self) -> None:
        while True:
            if self._solver(self._settings()) is not None:
                now = self._clock()
                for egress in self._registry.all():
                    if self.due(egress, now):
                        self.request(egress.id)
            raise_if_cancelling()
            await asyncio.sleep(SCHEDULE_INTERVAL_SECONDS)

    async def settled(self) -> None:
        """Wait for the background refreshes running now (``request``) to end."""
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
