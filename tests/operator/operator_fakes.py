"""A PoolClient stand-in for operator tests: accounts keyed by credential, calls recorded."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from grok2api_poolclient import accounts, errors, leases


class FakePool:
    """Implements the account-management part of ``PoolClient`` the operator uses."""

    def __init__(self) -> None:
        self.accounts: dict[str, accounts.Account] = {}
        self.credentials: dict[str, str] = {}  # account_id -> credential
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unavailable = False

    def _check(self) -> None:
        if self.unavailable:
            raise errors.PoolUnavailable("token pool unreachable")

    async def upsert_account(
        self,
        *,
        credential: str | None = None,
        account_id: str | None = None,
        tier: leases.Tier | None = None,
        enabled: bool | None = None,
        tags: Sequence[str] | None = None,
        note: str | None = None,
    ) -> accounts.Account:
        self.calls.append(("upsert", {
            "credential": credential, "tier": tier, "enabled": enabled,
            "tags": tuple(tags) if tags is not None else None, "note": note,
        }))
        self._check()
        if credential is None or not credential.startswith("sso-"):
            raise errors.InvalidRequest(f"malformed credential {credential}")
        existing = next(
            (self.accounts[i] for i, c in self.credentials.items() if c == credential), None
        )
        if existing is None:
            existing = accounts.Account(
                account_id=f"acc-{len(self.credentials) + 1}", credential_masked="sso-***",
                tier=leases.Tier.BASIC, status=accounts.AccountStatus.ACTIVE, enabled=True,
            )
            self.credentials[existing.account_id] = credential
        is_enabled = existing.enabled if enabled is None else enabled
        state = existing.status
        if not is_enabled:
            state = accounts.AccountStatus.DISABLED
        elif state == accounts.AccountStatus.DISABLED:
            state = accounts.AccountStatus.ACTIVE
        account = dataclasses.replace(
            existing,
            tier=tier or existing.tier,
            enabled=is_enabled,
            status=state,
            tags=existing.tags if tags is None else tuple(tags),
            note=existing.note if note is None else note,
        )
        self.accounts[account.account_id] = account
        return account

    async def remove_account(self, account_id: str) -> None:
        self.calls.append(("remove", {"account_id": account_id}))
        self._check()
        if account_id not in self.accounts:
            raise errors.AccountNotFound(account_id)
        del self.accounts[account_id]
        del self.credentials[account_id]

    async def get_account(self, account_id: str) -> accounts.Account:
        self.calls.append(("get", {"account_id": account_id}))
        self._check()
        if account_id not in self.accounts:
            raise errors.AccountNotFound(account_id)
        return self.accounts[account_id]

    async def list_accounts(
        self, *, tag: str | None = None, search: str | None = None, page_size: int = 100,
        page_token: str = "", **_: Any,
    ) -> accounts.AccountPage:
        """Only the filters the operator uses: a tag, and a search by the whole credential."""
        self.calls.append(("list", {"tag": tag, "search": search}))
        self._check()
        found = tuple(
            a for i, a in self.accounts.items()
            if (tag is None or tag in a.tags) and (search is None or self.credentials[i] == search)
        )
        return accounts.AccountPage(
            accounts=found[:page_size], next_page_token="", total=len(found)
        )

    def set_status(self, account_id: str, status: accounts.AccountStatus) -> None:
        """What the pool does on its own (cooling, invalidation) between operator calls."""
        self.accounts[account_id] = dataclasses.replace(self.accounts[account_id], status=status)

    def calls_of(self, name: str) -> list[dict[str, Any]]:
        return [args for kind, args in self.calls if kind == name]
