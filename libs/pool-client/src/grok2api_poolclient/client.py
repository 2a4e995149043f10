"""The ``PoolClient`` protocol: what every caller of the token pool may rely on.

Two implementations: ``grpc_transport.GrpcPoolClient`` (over the network) and the token-pool
service's ``PoolService`` (in-process, single-process mode). Both raise only ``errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from . import accounts, egresses, leases


class PoolClient(Protocol):
    async def acquire(
        self,
        *,
        model: str,
        cost: int | None = None,
        exclude: Sequence[str] = (),
        request_id: str = "",
        prefer_tier: str = "",
        account_id: str = "",
        account_tags: Sequence[str] = (),
    ) -> leases.Lease:
        """Lease an eligible account for ``model``, reserving ``cost`` (catalogue cost if None).

        ``prefer_tier`` (a ``leases.Tier`` value, "" for none): eligible accounts of that tier
        or above are picked before lower-tier ones; a lower-tier one is still leased when none
        of them is eligible. ``account_id`` ("" for any) pins the acquire to that one account
        (continuing an upstream conversation only it holds): it is leased when it is eligible
        for ``model`` by the usual rules, and no other account ever is. ``account_tags``
        (empty for any account) restricts the acquire to accounts carrying at least one of
        these tags: never another account, whatever else is free (a client key bound to a
        team's tags spends only that team's accounts); a pinned account must carry one too.
        Raises
        ``errors.PoolExhausted`` (with a reason and the earliest retry time) when no account
        can serve (for a pinned acquire: why that account cannot, ``no_account_of_tier``
        when it is disabled, invalid or of a tier the model cannot use),
        ``errors.AccountNotFound`` for a pinned account the pool does not hold,
        ``errors.InvalidRequest`` for an unknown model or tier or a blank tag. With
        ``account_tags``, ``PoolExhausted.reason`` is ``no_tagged_account`` when no account
        carries any of them (or the pinned one carries none), else the usual reason, the
        message naming the tags; ``PoolExhausted.account_tags`` repeats them.
        """
        ...

    async def release(
        self,
        lease: leases.Lease,
        *,
        outcome: leases.Outcome,
        retry_after: float | None = None,
        quota: Sequence[leases.QuotaFigures] = (),
    ) -> None:
        """Return a lease with what happened; the pool updates quota, cooldown and failures.

        Releasing a lease twice, or after it expired, never double-counts.
        """
        ...

    async def renew(self, lease: leases.Lease) -> float | None:
        """Push the lease's expiry to ``token.lease_ttl_seconds`` from now, for a call that
        outlasts it; the new expiry (unix s), or None when the lease is gone (released, or
        reclaimed after it expired) and its slot with it."""
        ...

    async def set_user_id(self, account_id: str, user_id: str) -> None:
        """Record the account's grok.com user id (a chat discovered it from
        ``/api/auth/session``; "" forgets it): later leases of the account carry it in
        ``Lease.user_id``, on every replica. Raises ``AccountNotFound`` / ``InvalidRequest``
        (not a UUID)."""
        ...

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
        """Add an account by ``credential`` or update one (by credential or ``account_id``).

        Fields left ``None`` keep their value. A new account without a tier is ``basic``
        until a usage refresh infers it. Raises ``InvalidRequest`` / ``AccountNotFound``.
        """
        ...

    async def remove_account(self, account_id: str) -> None:
        """Delete an account; raises ``AccountNotFound``."""
        ...

    async def get_account(self, account_id: str) -> accounts.Account:
        """One account, credential masked; raises ``AccountNotFound``."""
        ...

    async def list_accounts(
        self,
        *,
        tier: leases.Tier | None = None,
        status: accounts.AccountStatus | None = None,
        tag: str | None = None,
        search: str | None = None,
        page_size: int = 100,
        page_token: str = "",
        sort: accounts.AccountSort = accounts.AccountSort.ID,
        descending: bool = False,
    ) -> accounts.AccountPage:
        """Accounts matching every given filter, one page at a time, ordered by ``sort``
        (ties by account id ascending, so the pages of an unchanged pool are complete and
        never repeat an account). ``search`` is a substring of the id or the note."""
        ...

    def refresh_usage(
        self, account_ids: Sequence[str] = (), *, all_accounts: bool = False
    ) -> AsyncIterator[accounts.RefreshProgress]:
        """Re-read usage from the upstream, yielding one event per account and a summary."""
        ...

    def run_action(
        self,
        action: accounts.AccountAction,
        account_ids: Sequence[str] = (),
        *,
        all_accounts: bool = False,
    ) -> AsyncIterator[accounts.ActionProgress]:
        """Apply an upstream action to accounts, yielding one event per account as it
        finishes and a summary; capped by the action's ``performance`` settings. Closing
        the iterator stops the calls still running."""
        ...

    async def list_assets(
        self, account_id: str, *, page_size: int = 50, page_token: str = ""
    ) -> accounts.AssetPage:
        """One page of the account's upstream assets; ``AccountNotFound``,
        ``PoolUnavailable`` when the upstream cannot be read."""
        ...

    async def stats(self) -> accounts.PoolStats:
        """Accounts by tier and status, remaining quota by mode, leases in flight."""
        ...

    def watch(self) -> AsyncIterator[accounts.AccountChange]:
        """Every account change from now on, until the iterator is closed."""
        ...

    def export_accounts(self) -> AsyncIterator[accounts.ExportedAccount]:
        """Every account with its full credential (backups); handle the output as a secret."""
        ...

    # Egresses: the ways out to grok.com (issue #20). ``egress`` arguments take an id or a
    # name. Changes reach every replica within a second and rebind the accounts they affect.

    async def list_egresses(self) -> tuple[egresses.Egress, ...]:
        """Every egress with its state, load and clearance (never cookies), by name. Without
        stored egresses: the one the settings describe (``from_settings``, read-only), if
        any; adding the first egress replaces it."""
        ...

    async def add_egress(
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
        """Add an egress (``proxy_url`` "" = direct; http, https, socks5, socks5h with
        optional credentials). ``clearance_cookies``: a pasted Cookie header or bare
        ``cf_clearance`` value, taken as a manual clearance for ``user_agent``. Raises
        ``InvalidRequest`` (bad URL, name taken)."""
        ...

    async def update_egress(
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
        """Change the given fields (None keeps; ``clearance_cookies=""`` forgets the
        clearance). Raises ``EgressNotFound`` / ``InvalidRequest``."""
        ...

    async def remove_egress(self, egress: str) -> None:
        """Delete an egress; its accounts move to the others. Raises ``EgressNotFound``."""
        ...

    def test_egresses(
        self, egress_ids: Sequence[str] = (), *, all_egresses: bool = False
    ) -> AsyncIterator[egresses.EgressTest]:
        """Fetch the upstream's home page through each egress, yielding one result per
        egress as it finishes and a summary (``finished``). Raises ``EgressNotFound`` for an
        unknown one, ``InvalidRequest`` when neither ids nor ``all_egresses`` are given."""
        ...

    async def refresh_clearance(self, egress: str) -> egresses.ClearanceRefresh:
        """Obtain a new clearance through the solver now (one at a time per egress across
        replicas; one obtained moments ago is kept: ``RefreshResult.FRESH``). Raises
        ``EgressNotFound``."""
        ...
