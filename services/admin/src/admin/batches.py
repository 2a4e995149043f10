"""Batch jobs over accounts and egresses, run in the admin process, their progress kept in
a ``BatchLog``.

``Batches.start(action, account_ids, all_accounts=)`` launches a supervised task that
follows the pool's progress stream (``refresh_usage`` or ``run_action``: the pool applies
the ``performance`` caps) and writes one event per account, then a ``summary``; an import
(``start_import``) upserts parsed entries one by one the same way, and an egress test
(``start_egress_test``) writes one event per egress tested. ``cancel(id)`` raises
the log's cancel flag, which the replica running the batch notices within
``CANCEL_POLL_SECONDS``: it closes the pool stream (the pool stops its calls) and writes a
``cancelled`` summary.

Events (JSON objects)::

    {"type": "progress", "done", "total", "account_id", "ok", "error", "skipped",
     "assets_found", "assets_deleted", "already_done"}
    {"type": "progress", "done", "total", "egress_id", "name", "ok", "error", "status",
     "challenged", "latency_ms"}                                    (an egress test)
    {"type": "summary", "status": "finished"|"cancelled"|"failed", "done", "total",
     "succeeded", "failed", "skipped", "error", "assets_found", "assets_deleted"}

State (``get``): ``{"id", "action", "status": "running"|<summary status>, "done",
"total", "created_at", "finished_at", "summary"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI
from grok2api_poolclient import accounts, declared, egresses, errors, formats
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.leases import Tier

from . import batch_log

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5


def attach(app: FastAPI, *, log: batch_log.BatchLog) -> Batches:
    """Give ``app`` its batches, their progress kept in ``log`` (a ``RedisBatchLog`` when
    several admin replicas serve the same panel). Whoever owns the app's lifetime calls
    ``aclose()`` on it when the app stops (running batches are cancelled)."""
    built = Batches(pool=app.state.pool, log=log)
    app.state.batches = built
    return built


def of(app: FastAPI) -> Batches:
    """The app's batches; an app nobody attached any to keeps them in process memory
    (the single-process mode, tests)."""
    found: Batches | None = getattr(app.state, "batches", None)
    return found if found is not None else attach(app, log=batch_log.MemoryBatchLog())


class Action(enum.StrEnum):
    REFRESH_USAGE = "refresh_usage"
    ACCEPT_TOS = "accept_tos"
    SET_BIRTH_DATE = "set_birth_date"
    ENABLE_NSFW = "enable_nsfw"
    CLEAR_ASSETS = "clear_assets"
    IMPORT = "import"
    TEST_EGRESSES = "test_egresses"


class Batches:
    def __init__(self, *, pool: PoolClient, log: batch_log.BatchLog) -> None:
        self._pool = pool
        self.log = log
        self._running: dict[str, asyncio.Task[None]] = {}

    async def start(
        self, action: Action, account_ids: Sequence[str] = (), *, all_accounts: bool = False
    ) -> dict[str, Any]:
        """A running batch of ``action`` (not ``import``) over the accounts; its state."""
        ids = tuple(dict.fromkeys(account_ids))
        steps: AsyncIterator[Any]
        if action is Action.REFRESH_USAGE:
            steps = self._pool.refresh_usage(ids, all_accounts=all_accounts)
        else:
            upstream = accounts.AccountAction(action.value)
            steps = self._pool.run_action(upstream, ids, all_accounts=all_accounts)
        return await self._launch(action, total=0 if all_accounts else len(ids), steps=steps)

    async def start_import(
        self,
        entries: Sequence[formats.ImportEntry],
        *,
        tier: Tier | None = None,
        tags: Sequence[str] = (),
    ) -> dict[str, Any]:
        """A running import of parsed entries (``tier`` for entries without one, ``tags``
        added to every entry)."""
        steps = self._imports(entries, tier=tier, tags=tuple(tags))
        return await self._launch(Action.IMPORT, total=len(entries), steps=steps)

    async def start_egress_test(
        self, egress_ids: Sequence[str] = (), *, all_egresses: bool = False, total: int = 0
    ) -> dict[str, Any]:
        """A running test of the egresses (``total``: how many, when known beforehand)."""
        ids = tuple(dict.fromkeys(egress_ids))
        steps = self._pool.test_egresses(ids, all_egresses=all_egresses)
        return await self._launch(
            Action.TEST_EGRESSES, total=total if all_egresses else len(ids), steps=steps
        )

    async def get(self, batch_id: str) -> dict[str, Any] | None:
        return await self.log.get_state(batch_id)

    async def cancel(self, batch_id: str) -> dict[str, Any] | None:
        """Ask the batch to stop (whichever replica runs it); its state, None if unknown."""
        state = await self.log.get_state(batch_id)
        if state is None:
            return None
        if state["status"] == "running":
            await self.log.request_cancel(batch_id)
            task = self._running.get(batch_id)
            if task is not None:
                task.cancel()
        return state

    async def aclose(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _launch(
        self, action: Action, *, total: int, steps: AsyncIterator[Any]
    ) -> dict[str, Any]:
        batch_id = uuid.uuid4().hex
        state: dict[str, Any] = {
            "id": batch_id, "action": action.value, "status": "running", "done": 0,
            "total": total, "created_at": time.time(), "finished_at": None, "summary": None,
        }  # fmt: skip
        await self.log.put_state(batch_id, state)
        task = asyncio.create_task(self._run(state, steps), name=f"batch-{batch_id}")
        self._running[batch_id] = task
        task.add_done_callback(lambda _: self._running.pop(batch_id, None))
        return state

    async def _run(self, state: dict[str, Any], steps: AsyncIterator[Any]) -> None:
        batch_id = state["id"]
        tally = _Tally(total=state["total"])
        status, error = "finished", ""
        watcher = asyncio.create_task(self._watch_cancel(batch_id, asyncio.current_task()))
        try:
            async with contextlib.aclosing(steps):  # type: ignore[type-var]
                async for step in steps:
                    event = tally.add(step)
                    if event is not None:
                        await self.log.append(batch_id, event)
                        state.update(done=tally.done, total=tally.total)
                        await self.log.put_state(batch_id, state)
        except asyncio.CancelledError:
            status = "cancelled"
        except errors.PoolError as exc:
            status, error = "failed", f"token pool: {exc}"
            log.warning("batch_failed id=%s action=%s error=%s", batch_id, state["action"], exc)
        finally:
            watcher.cancel()
        summary = tally.summary(status=status, error=error)
        state.update(status=status, done=tally.done, total=tally.total,
                     finished_at=time.time(), summary=summary)  # fmt: skip
        # the state first: whoever saw the summary event then reads the final state
        await self.log.put_state(batch_id, state)
        await self.log.append(batch_id, summary)
        log.info("batch_done id=%s action=%s status=%s done=%d total=%d",
                 batch_id, state["action"], status, tally.done, tally.total)  # fmt: skip

    async def _watch_cancel(self, batch_id: str, runner: asyncio.Task[Any] | None) -> None:
        """Another replica's DELETE reaches the running batch through the log's flag."""
        while runner is not None and not runner.done():
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            try:
                if await self.log.cancel_requested(batch_id):
                    runner.cancel()
                    return
            except Exception:  # a flaky poll must not end the batch; the next one may work
                log.exception("batch_cancel_poll_failed id=%s", batch_id)

    async def _imports(
        self, entries: Sequence[formats.ImportEntry], *, tier: Tier | None, tags: tuple[str, ...]
    ) -> AsyncIterator[accounts.RefreshProgress]:
        total = len(entries)
        for done, entry in enumerate(entries, start=1):
            merged = tuple(entry.tags or ()) + tags
            existing = await declared.holder(self._pool, entry.credential)
            reason = declared.refusal(existing) if existing is not None else None
            if reason is not None:  # its GrokToken object is its source of truth
                yield accounts.RefreshProgress(
                    account_id=existing.account_id if existing else "", ok=False, error=reason,
                    done=done, total=total,
                )  # fmt: skip
                continue
            try:
                account = await self._pool.upsert_account(
                    credential=entry.credential, tier=entry.tier or tier, enabled=entry.enabled,
                    tags=[t for t in merged if not t.startswith(accounts.MANAGED_TAG_PREFIX)]
                    if merged else None,
                    note=entry.note,
                )  # fmt: skip
            except errors.InvalidRequest as exc:
                yield accounts.RefreshProgress(
                    account_id="", ok=False, error=str(exc), done=done, total=total
                )
                continue
            yield accounts.RefreshProgress(
                account_id=account.account_id, ok=True, done=done, total=total
            )


class _Tally:
    """Counts a batch's steps into events and its summary."""

    def __init__(self, *, total: int) -> None:
        self.total = total
        self.done = 0
        self.succeeded = 0
        self.failed = 0
        self.skipped = 0
        self.assets_found = 0
        self.assets_deleted = 0

    def add(
        self, step: accounts.RefreshProgress | accounts.ActionProgress | egresses.EgressTest
    ) -> dict[str, Any] | None:
        """The event of ``step``; None for the pool's own summary (ours replaces it)."""
        self.total = max(self.total, step.total)
        if step.finished:
            return None
        self.done = step.done
        if isinstance(step, egresses.EgressTest):
            return self._egress_tested(step)
        skipped = getattr(step, "skipped", False)
        found, deleted = getattr(step, "assets_found", 0), getattr(step, "assets_deleted", 0)
        self.assets_found += found
        self.assets_deleted += deleted
        if skipped:
            self.skipped += 1
        elif step.ok:
            self.succeeded += 1
        else:
            self.failed += 1
        return {
            "type": "progress", "done": step.done, "total": self.total,
            "account_id": step.account_id, "ok": step.ok, "error": step.error,
            "skipped": skipped, "assets_found": found, "assets_deleted": deleted,
            "already_done": getattr(step, "already_done", False),
        }  # fmt: skip

    def _egress_tested(self, step: egresses.EgressTest) -> dict[str, Any]:
        if step.ok:
            self.succeeded += 1
        else:
            self.failed += 1
        return {
            "type": "progress", "done": step.done, "total": self.total,
            "egress_id": step.egress_id, "name": step.name, "ok": step.ok,
            "error": "" if step.ok else step.message, "status": step.status,
            "challenged": step.challenged, "latency_ms": step.latency_ms,
        }  # fmt: skip

    def summary(self, *, status: str, error: str) -> dict[str, Any]:
        return {
            "type": "summary", "status": status, "done": self.done, "total": self.total,
            "succeeded": self.succeeded, "failed": self.failed, "skipped": self.skipped,
            "error": error or (f"{self.failed} failed" if self.failed else ""),
            "assets_found": self.assets_found, "assets_deleted": self.assets_deleted,
        }  # fmt: skip
