"""Upstream account actions: accept the ToS, set the birth date, enable NSFW, clear assets.

* ``ActionRunner.run(action, ids)`` streams one ``ActionProgress`` per account as each
  finishes, then a summary; like the usage refresh it takes at most the action's
  ``performance.*_max_tokens`` accounts, in batches of ``*_batch_size``, with
  ``*_max_concurrent`` upstream calls at a time (``clear_assets`` uses the ``assets_*``
  caps and deletes one account's assets ``assets_delete_batch_size`` at a time; the three
  account settings share the ``nsfw_*`` caps, as the original project ran them as one
  sequence). Closing the stream cancels the calls still running before it returns.
* ``ActionRunner.list_assets(id, ...)`` is one page of the account's assets.
* ``AccountUpstream`` is the seam the tests and the pool's wiring fill:
  ``GrokAccountUpstream`` over ``grok_web.GrokClient`` translates its errors into
  ``ActionFailed`` here, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from typing import Protocol

from grok2api_poolclient import accounts, errors
from grok2api_settings import Settings
from grok2api_storage import protocols
from grok_web import client as grok_client
from grok_web import errors as grok_errors


class ActionFailed(Exception):
    """The upstream refused or failed the action for this account; the message says why
    without the credential."""


class AccountUpstream(Protocol):
    async def accept_tos(self, credential: str) -> None: ...

    async def set_birth_date(self, credential: str) -> bool:
        """False when the upstream already had a birth date."""
        ...

    async def enable_nsfw(self, credential: str) -> None: ...

    async def list_assets(
        self, credential: str, *, page_size: int, page_token: str
    ) -> accounts.AssetPage: ...

    async def delete_asset(self, credential: str, asset_id: str) -> None: ...


class GrokAccountUpstream:
    """``AccountUpstream`` over ``grok_web.GrokClient`` (the client belongs to the caller)."""

    def __init__(self, client: grok_client.GrokClient) -> None:
        self._client = client

    async def accept_tos(self, credential: str) -> None:
        with _translated():
            await self._client.accept_tos(credential=credential)

    async def set_birth_date(self, credential: str) -> bool:
        with _translated():
            return await self._client.set_birth_date(credential=credential)

    async def enable_nsfw(self, credential: str) -> None:
        with _translated():
            await self._client.set_nsfw(credential=credential, enabled=True)

    async def list_assets(
        self, credential: str, *, page_size: int, page_token: str
    ) -> accounts.AssetPage:
        with _translated():
            page = await self._client.list_assets(
                credential=credential, page_size=page_size, page_token=page_token
            )
        return accounts.AssetPage(
            assets=tuple(
                accounts.Asset(
                    asset_id=a.asset_id, name=a.name, mime_type=a.mime_type, key=a.key,
                    size=a.size, created_at=a.created_at,
                )
                for a in page.assets
            ),
            next_page_token=page.next_page_token,
        )

    async def delete_asset(self, credential: str, asset_id: str) -> None:
        with _translated():
            await self._client.delete_asset(credential=credential, asset_id=asset_id)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """grok_web errors become ``ActionFailed`` (cause chained), named by their type."""
    try:
        yield
    except grok_errors.InvalidCredential as exc:
        raise ActionFailed("credential rejected") from exc
    except grok_errors.GrokWebError as exc:
        status = f" (HTTP {exc.status})" if exc.status else ""
        raise ActionFailed(f"{type(exc).__name__}{status}") from exc


@dataclasses.dataclass(frozen=True)
class _Caps:
    max_accounts: int
    batch_size: int
    max_concurrent: int


def _caps(settings: Settings, action: accounts.AccountAction) -> _Caps:
    perf = settings.performance
    if action is accounts.AccountAction.CLEAR_ASSETS:
        return _Caps(perf.assets_max_tokens, perf.assets_batch_size, perf.assets_max_concurrent)
    return _Caps(perf.nsfw_max_tokens, perf.nsfw_batch_size, perf.nsfw_max_concurrent)


class ActionRunner:
    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        repo: protocols.AccountRepository,
        upstream: AccountUpstream | None,
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._upstream = upstream

    async def run(
        self, action: accounts.AccountAction, account_ids: Sequence[str]
    ) -> AsyncGenerator[accounts.ActionProgress, None]:
        caps = _caps(self._settings(), action)
        ids = list(dict.fromkeys(account_ids))[: caps.max_accounts]
        total, done, failed, found, deleted = len(ids), 0, 0, 0, 0
        gate = asyncio.Semaphore(caps.max_concurrent)
        for start in range(0, total, caps.batch_size):
            batch = ids[start : start + caps.batch_size]
            tasks = [asyncio.create_task(self._one(action, i, gate)) for i in batch]
            try:
                for next_done in asyncio.as_completed(tasks):
                    step = await next_done
                    done += 1
                    failed += 0 if step.ok else 1
                    found += step.assets_found
                    deleted += step.assets_deleted
                    yield dataclasses.replace(step, done=done, total=total)
            finally:
                for task in tasks:
                    task.cancel()
                # a closed stream returns only once no upstream call is left running
                await asyncio.gather(*tasks, return_exceptions=True)
        yield accounts.ActionProgress(
            account_id="", ok=failed == 0, done=done, total=total, finished=True,
            error=f"{failed} failed" if failed else "", assets_found=found,
            assets_deleted=deleted,
        )

    async def _one(
        self, action: accounts.AccountAction, account_id: str, gate: asyncio.Semaphore
    ) -> accounts.ActionProgress:
        step = accounts.ActionProgress(account_id=account_id, ok=False, done=0, total=0)
        if self._upstream is None:
            return dataclasses.replace(step, error="no upstream client configured")
        record = await self._repo.get(account_id)
        if record is None:
            return dataclasses.replace(step, error="account not found")
        try:
            async with gate:
                return await self._act(action, record.credential, step)
        except ActionFailed as exc:
            return dataclasses.replace(step, error=str(exc))

    async def _act(
        self, action: accounts.AccountAction, credential: str, step: accounts.ActionProgress
    ) -> accounts.ActionProgress:
        upstream = self._upstream
        assert upstream is not None
        match action:
            case accounts.AccountAction.ACCEPT_TOS:
                await upstream.accept_tos(credential)
            case accounts.AccountAction.SET_BIRTH_DATE:
                already = not await upstream.set_birth_date(credential)
                return dataclasses.replace(step, ok=True, already_done=already)
            case accounts.AccountAction.ENABLE_NSFW:
                await upstream.enable_nsfw(credential)
            case accounts.AccountAction.CLEAR_ASSETS:
                return await self._clear(credential, step)
        return dataclasses.replace(step, ok=True)

    async def _clear(
        self, credential: str, step: accounts.ActionProgress
    ) -> accounts.ActionProgress:
        """Every asset is listed before any is deleted: deleting while paging would shift
        the upstream's pages under the page token."""
        assert self._upstream is not None
        upstream = self._upstream
        ids: list[str] = []
        token = ""
        while True:
            page = await upstream.list_assets(credential, page_size=50, page_token=token)
            ids.extend(a.asset_id for a in page.assets)
            token = page.next_page_token
            if not token or not page.assets:
                break
        gate = asyncio.Semaphore(self._settings().performance.assets_delete_batch_size)

        async def delete(asset_id: str) -> bool:
            async with gate:
                try:
                    await upstream.delete_asset(credential, asset_id)
                except ActionFailed:
                    return False
                return True

        results = await asyncio.gather(*(delete(i) for i in ids))
        deleted = sum(results)
        failed = len(ids) - deleted
        return dataclasses.replace(
            step, ok=failed == 0, assets_found=len(ids), assets_deleted=deleted,
            error=f"{failed} of {len(ids)} assets not deleted" if failed else "",
        )

    async def list_assets(
        self, account_id: str, *, page_size: int, page_token: str
    ) -> accounts.AssetPage:
        if self._upstream is None:
            raise errors.PoolUnavailable("no upstream client configured")
        record = await self._repo.get(account_id)
        if record is None:
            raise errors.AccountNotFound(f"no account {account_id}")
        try:
            return await self._upstream.list_assets(
                record.credential, page_size=max(1, min(page_size or 50, 100)),
                page_token=page_token,
            )
        except ActionFailed as exc:
            raise errors.PoolUnavailable(f"assets of {account_id}: {exc}") from exc
