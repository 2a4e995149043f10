"""Egress management (the ``PoolClient`` egress methods): list, add, update, remove, test,
refresh a clearance.

Every change is stored, applied here at once (reload and rebind) and announced so every
other replica does the same. ``egress`` arguments take an id or a name.

The settings' one-egress pool (``settings_egress``) is listed with ``from_settings`` and is
read-only: it changes with the settings. Adding the first stored egress replaces it (stored
egresses and the settings' proxy never mix): its accounts move to the stored egresses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from grok2api_poolclient import egresses, errors
from grok2api_settings import Settings
from grok2api_storage import errors as store_errors
from grok2api_storage import records

from .. import translate
from ..hot import base
from . import clearance, probe, settings_egress, views
from . import pool as pool_mod

log = logging.getLogger(__name__)

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
# Cookies of the account, not of the clearance: a pasted browser Cookie header may carry
# them, and the lease's own credential must not be overridden.
ACCOUNT_COOKIES = ("sso", "sso-rw", "x-userid")
_REFRESH_RESULTS = {
    clearance.Result.REFRESHED: egresses.RefreshResult.REFRESHED,
    clearance.Result.FRESH: egresses.RefreshResult.FRESH,
    clearance.Result.FAILED: egresses.RefreshResult.FAILED,
    clearance.Result.NO_SOLVER: egresses.RefreshResult.NO_SOLVER,
}


class EgressManager:
    def __init__(
        self,
        *,
        pool: pool_mod.EgressPool,
        hot: base.HotState,
        settings: Callable[[], Settings],
        prober: probe.Prober,
        clock: Callable[[], float],
    ) -> None:
        self._pool = pool
        self._hot = hot
        self._settings = settings
        self._prober = prober
        self._clock = clock

    async def list(self) -> tuple[egresses.Egress, ...]:
        with egress_errors():
            loads = await self._hot.egress_loads()
            chosen = sorted(self._pool.registry.all(), key=lambda e: e.name)
            return tuple(self._view(e, loads) for e in chosen)

    async def add(
        self,
        *,
        name: str,
        proxy_url: str = "",
        asset_proxy_url: str = "",
        tags: Sequence[str] = (),
        enabled: bool = True,
        max_inflight: int = 0,
        browser: str = "",
        user_agent: str = "",
        clearance_cookies: str = "",
    ) -> egresses.Egress:
        with egress_errors():
            name = _name(name)
            _check(proxy_url=proxy_url, asset_proxy_url=asset_proxy_url, max_inflight=max_inflight)
            await self._refuse_taken(name)
            pasted = self._clearance(clearance_cookies, user_agent=user_agent)
            record = await self._pool.repo.add(records.NewEgress(
                name=name, proxy_url=proxy_url.strip(), asset_proxy_url=asset_proxy_url.strip(),
                tags=tuple(tags), enabled=enabled, max_inflight=max_inflight, browser=browser,
                user_agent=user_agent, clearance=pasted,
            ))  # fmt: skip
            log.info(
                "egress_added egress=%s proxy=%s clearance=%s",
                name, views.masked(record.proxy_url) or "direct", pasted is not None,
            )  # fmt: skip
            await self._changed()
            return await self._view_one(record.id)

    async def update(
        self,
        egress: str,
        *,
        name: str | None = None,
        proxy_url: str | None = None,
        asset_proxy_url: str | None = None,
        tags: Sequence[str] | None = None,
        enabled: bool | None = None,
        max_inflight: int | None = None,
        browser: str | None = None,
        user_agent: str | None = None,
        clearance_cookies: str | None = None,
    ) -> egresses.Egress:
        with egress_errors():
            record = await self._stored(egress, doing="change")
            _check(proxy_url=proxy_url, asset_proxy_url=asset_proxy_url, max_inflight=max_inflight)
            changes: dict[str, Any] = {
                "proxy_url": None if proxy_url is None else proxy_url.strip(),
                "asset_proxy_url": None if asset_proxy_url is None else asset_proxy_url.strip(),
                "tags": None if tags is None else tuple(tags), "enabled": enabled,
                "max_inflight": max_inflight, "browser": browser, "user_agent": user_agent,
            }  # fmt: skip
            if name is not None:
                changes["name"] = _name(name)
                if changes["name"] != record.name:
                    await self._refuse_taken(changes["name"])
            if clearance_cookies is not None:
                agent = user_agent if user_agent is not None else record.user_agent
                changes["clearance"] = self._clearance(clearance_cookies, user_agent=agent)
            patch = records.EgressPatch(**{k: v for k, v in changes.items() if v is not None})
            if clearance_cookies == "":
                patch = dataclasses.replace(patch, clearance=None)
            await self._pool.repo.update(record.id, patch)
            # the names of the fields changed, never their values (proxies, cookies)
            fields = ",".join(sorted(patch.changes())) or "-"
            log.info("egress_updated egress=%s fields=%s", record.name, fields)
            await self._changed()
            return await self._view_one(record.id)

    async def remove(self, egress: str) -> None:
        with egress_errors():
            record = await self._stored(egress, doing="remove")
            await self._pool.repo.remove(record.id)
            log.info("egress_removed egress=%s", record.name)
            await self._changed()

    async def test(
        self, egress_ids: Sequence[str] = (), *, all_egresses: bool = False
    ) -> AsyncGenerator[egresses.EgressTest, None]:
        with egress_errors():
            if all_egresses:
                chosen = sorted(self._pool.registry.all(), key=lambda e: e.name)
            elif egress_ids:
                chosen = [await self._known(e) for e in dict.fromkeys(egress_ids)]
            else:
                raise errors.InvalidRequest("name the egresses to test, or test all of them")
            routes = [r for e in chosen if (r := self._pool.route(e.id)) is not None]
        async with contextlib.aclosing(self._prober.run(routes, latency=self._latency)) as run:
            async for result in run:
                yield result

    async def refresh(self, egress: str) -> egresses.ClearanceRefresh:
        with egress_errors():
            record = await self._known(egress)
            done = await self._pool.clearance.refresh(record.id)
            if done.result is clearance.Result.UNKNOWN:
                raise errors.EgressNotFound(f"no egress {egress!r}")
            return egresses.ClearanceRefresh(
                egress_id=record.id, result=_REFRESH_RESULTS[done.result], message=done.message
            )

    def _latency(self, egress_id: str, milliseconds: float) -> None:
        seen = self._pool.registry.health.get(egress_id)
        if seen is not None:
            seen.latency(milliseconds)

    async def _changed(self) -> None:
        """Apply here now, then tell the other replicas (they reload on the notice)."""
        await self._pool.reload()
        await self._pool.announce()

    async def _known(self, egress: str) -> records.EgressRecord:
        """An egress this replica serves (stored or the settings'), by id or name; one
        added on another replica moments ago (its notice on the way) is loaded first."""
        for attempt in range(2):
            for record in self._pool.registry.all():
                if egress in (record.id, record.name):
                    return record
            if attempt == 0:
                await self._pool.registry.load()
        raise errors.EgressNotFound(f"no egress {egress!r}")

    async def _stored(self, egress: str, *, doing: str) -> records.EgressRecord:
        """A stored egress by id or name (the store's, fresher than this replica's view)."""
        repo = self._pool.repo
        record = await repo.get(egress) or await repo.find_by_name(egress)
        if record is not None:
            return record
        if self._pool.registry.from_settings and egress in (
            settings_egress.SETTINGS_EGRESS_ID, settings_egress.SETTINGS_EGRESS_NAME,
        ):  # fmt: skip
            raise errors.InvalidRequest(
                f"cannot {doing} the egress built from the settings: change "
                "network.base_proxy_url / security.cf_clearance, or add egresses (the first "
                "one added replaces it)"
            )
        raise errors.EgressNotFound(f"no egress {egress!r}")

    async def _refuse_taken(self, name: str) -> None:
        if await self._pool.repo.find_by_name(name) is not None:
            raise errors.InvalidRequest(f"an egress named {name!r} exists already")

    def _clearance(self, pasted: str, *, user_agent: str) -> records.Clearance | None:
        """The pasted clearance (None for ""); ``InvalidRequest`` when it holds no cookie."""
        if not pasted.strip():
            return None
        cookies = clearance_cookies(pasted)
        if not cookies:
            raise errors.InvalidRequest(
                "clearance_cookies holds no clearance cookie (paste cf_clearance=... or its value)"
            )
        return records.Clearance(
            cookies=cookies,
            # a clearance holds only with the user agent it was obtained with
            user_agent=user_agent or self._settings().security.user_agent,
            obtained_at=datetime.fromtimestamp(self._clock(), UTC),
            source=records.ClearanceSource.MANUAL,
        )

    async def _view_one(self, egress_id: str) -> egresses.Egress:
        record = self._pool.registry.get(egress_id)
        if record is None:  # removed meanwhile by another replica
            raise errors.EgressNotFound(f"no egress {egress_id!r}")
        return self._view(record, await self._hot.egress_loads())

    def _view(
        self, record: records.EgressRecord, loads: dict[str, base.EgressLoad]
    ) -> egresses.Egress:
        registry = self._pool.registry
        return views.view_of(
            record,
            state=registry.state(record.id, now=self._clock()),
            seen=registry.health[record.id],
            load=loads.get(record.id, base.EgressLoad(bound=0, inflight=0)),
            from_settings=registry.from_settings,
        )


def clearance_cookies(pasted: str) -> str:
    """A pasted Cookie header or bare ``cf_clearance`` value as a Cookie header value,
    without the account's own cookies."""
    value = settings_egress.clearance_cookies(pasted)
    pairs = [p.strip() for p in value.split(";") if p.strip()]
    kept = [p for p in pairs if p.split("=", 1)[0].strip() not in ACCOUNT_COOKIES]
    return "; ".join(kept)


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise errors.InvalidRequest("an egress needs a name")
    return name


def _check(*, proxy_url: str | None, asset_proxy_url: str | None, max_inflight: int | None) -> None:
    for field, url in (("proxy_url", proxy_url), ("asset_proxy_url", asset_proxy_url)):
        if url and url.strip():
            _check_proxy(field, url.strip())
    if max_inflight is not None and max_inflight < 0:
        raise errors.InvalidRequest("max_inflight must be 0 (no cap) or more")


def _check_proxy(field: str, url: str) -> None:
    """The message never repeats the URL: it may carry a password."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise errors.InvalidRequest(f"{field} is not a valid URL") from None
    if parts.scheme not in PROXY_SCHEMES or not host:
        raise errors.InvalidRequest(
            f"{field} must be scheme://[user:password@]host:port with a scheme of "
            f"{', '.join(PROXY_SCHEMES)} (or empty for a direct egress)"
        )


@contextlib.contextmanager
def egress_errors() -> Iterator[None]:
    """The store's and Redis's errors as pool errors (``EgressNotFound`` for a missing
    egress, not ``AccountNotFound``); messages free of secrets, cause chained."""
    try:
        yield
    except store_errors.DuplicateError as exc:
        raise errors.InvalidRequest("an egress with this name exists already") from exc
    except store_errors.InvalidRecordError as exc:
        raise errors.InvalidRequest(str(exc)) from exc
    except store_errors.NotFoundError as exc:
        raise errors.EgressNotFound("no such egress") from exc
    except store_errors.StorageError as exc:
        raise errors.PoolUnavailable(f"durable store failed: {type(exc).__name__}") from exc
    except Exception as exc:
        if not translate.is_redis_error(exc):
            raise
        raise errors.PoolUnavailable(f"redis hot state failed: {type(exc).__name__}") from exc
