"""``GrpcPoolClient``: the ``PoolClient`` protocol over gRPC (``grpc.aio``).

Build it with the pool's address (``services.token_pool_addr``); close it with ``aclose()``
or ``async with``. Every failed call is translated by ``grpc_errors.from_rpc_error``.
``acquire`` and ``release`` travel batched over one stream (``grpc_batching``) unless
``batched=False`` asks for the unary ``Acquire`` / ``Release`` calls.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

import grok2api.tokenpool.v1.token_pool_pb2_grpc as pb_grpc
import grpc
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_telemetry import tracing

from . import (
    accounts,
    egresses,
    errors,
    grpc_batching,
    grpc_codec,
    grpc_egress_codec,
    grpc_errors,
    grpc_tracing,
    leases,
    server_info,
)

DEFAULT_TIMEOUT_SECONDS = 10.0
# Targets that may name several replicas (``dns:///<headless service>:50051``,
# ``ipv4:a:p,b:p``): every address gets a connection and calls take turns, and a replica that
# went away is retried within two seconds rather than gRPC's default two minutes. A plain
# ``host:port`` keeps gRPC's default of one connection, reopened on demand.
SPREAD_SCHEMES = ("dns:", "ipv4:", "ipv6:")
SPREAD_OPTIONS = [("grpc.lb_policy_name", "round_robin"), ("grpc.max_reconnect_backoff_ms", 2000)]


# After a failed connect gRPC waits a second before the next; a call meanwhile fails at once.
# A restarted pool should be found again sooner than that (the lease stream resends a broken
# stream's items 50 and 300 ms later).
RECONNECT_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100)]


def channel_options(address: str) -> list[tuple[str, Any]]:
    spread = SPREAD_OPTIONS if address.startswith(SPREAD_SCHEMES) else []
    return [("grpc.enable_retries", 0), *RECONNECT_OPTIONS, *spread]


class GrpcPoolClient:
    def __init__(
        self,
        address: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        channel: grpc.aio.Channel | None = None,
        batched: bool = True,
        rotate_seconds: float = grpc_batching.ROTATE_SECONDS,
    ) -> None:
        # Tracing is decided at start, before clients are built: off, no interceptor runs.
        interceptors = [grpc_tracing.Interceptor(address=address)] if tracing.enabled() else None
        self._channel = channel or grpc.aio.insecure_channel(
            address, options=channel_options(address), interceptors=interceptors
        )
        self._stub = pb_grpc.TokenPoolStub(self._channel)
        self._timeout = timeout
        self._leasing = (
            grpc_batching.LeaseStream(
                self._stub, timeout=timeout, address=address, rotate_seconds=rotate_seconds
            )
            if batched else None
        )  # fmt: skip
        self.address = address

    def __repr__(self) -> str:
        return f"GrpcPoolClient(address={self.address!r})"

    async def __aenter__(self) -> GrpcPoolClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._leasing is not None:
            await self._leasing.aclose()
        await self._channel.close()

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise grpc_errors.from_rpc_error(exc) from exc

    async def _stream(self, method: Any, request: Any) -> Any:
        """Server streams run without a deadline: they last as long as the caller reads."""
        call = method(request)
        try:
            async for item in call:
                yield item
        except grpc.RpcError as exc:
            raise grpc_errors.from_rpc_error(exc) from exc
        finally:
            call.cancel()

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
        tags = leases.account_tags(account_tags)
        # The lease id is proposed here, so a resent acquire (grpc_batching) gets the lease
        # its first copy was granted rather than a second one.
        request = pb.AcquireRequest(
            model=model, cost=cost or 0, exclude_account_ids=exclude, request_id=request_id,
            prefer_tier=prefer_tier, account_id=account_id, account_tags=tags,
            lease_id=secrets.token_hex(16),
        )  # fmt: skip
        try:
            if self._leasing is not None:
                return await self._leasing.acquire(request)
            return grpc_codec.lease_from_pb(await self._call(self._stub.Acquire, request))
        except errors.PoolExhausted as exc:
            # the status carries the reason and the message; the tags are the caller's own
            exc.account_tags = tags
            raise

    async def release(
        self,
        lease: leases.Lease,
        *,
        outcome: leases.Outcome,
        retry_after: float | None = None,
        quota: Sequence[leases.QuotaFigures] = (),
    ) -> None:
        request = pb.ReleaseRequest(
            lease=grpc_codec.lease_to_pb(lease, with_credential=False),
            outcome=grpc_codec.outcome_to_pb(outcome),
            retry_after=retry_after,
            quota=[grpc_codec.figures_to_pb(f) for f in quota],
        )
        if self._leasing is not None:
            await self._leasing.release(request)
            return
        await self._call(self._stub.Release, request)

    async def renew(self, lease: leases.Lease) -> float | None:
        request = pb.RenewLeaseRequest(lease=grpc_codec.lease_to_pb(lease, with_credential=False))
        answer = await self._call(self._stub.RenewLease, request)
        return answer.expires_at if answer.renewed else None

    async def set_user_id(self, account_id: str, user_id: str) -> None:
        request = pb.SetUserIdRequest(account_id=account_id, user_id=user_id)
        await self._call(self._stub.SetUserId, request)

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
        request = pb.UpsertAccountRequest(
            credential=credential or "",
            account_id=account_id or "",
            tier=grpc_codec.tier_to_pb(tier),
            enabled=enabled,
            tags=list(tags or ()),
            set_tags=tags is not None,
            note=note,
        )
        return grpc_codec.account_from_pb(await self._call(self._stub.UpsertAccount, request))

    async def remove_account(self, account_id: str) -> None:
        await self._call(self._stub.RemoveAccount, pb.RemoveAccountRequest(account_id=account_id))

    async def get_account(self, account_id: str) -> accounts.Account:
        answer = await self._call(
            self._stub.GetAccount, pb.GetAccountRequest(account_id=account_id)
        )
        return grpc_codec.account_from_pb(answer)

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
        request = pb.ListAccountsRequest(
            sort=grpc_codec.sort_to_pb(sort),
            descending=descending,
            tier=grpc_codec.tier_to_pb(tier),
            status=grpc_codec.status_to_pb(status),
            tag=tag or "",
            search=search or "",
            page_size=page_size,
            page_token=page_token,
        )
        answer = await self._call(self._stub.ListAccounts, request)
        return accounts.AccountPage(
            accounts=tuple(grpc_codec.account_from_pb(a) for a in answer.accounts),
            next_page_token=answer.next_page_token,
            total=answer.total,
        )

    async def refresh_usage(
        self, account_ids: Sequence[str] = (), *, all_accounts: bool = False
    ) -> AsyncIterator[accounts.RefreshProgress]:
        request = pb.RefreshUsageRequest(account_ids=list(account_ids), all=all_accounts)
        async for item in self._stream(self._stub.RefreshUsage, request):
            yield grpc_codec.progress_from_pb(item)

    async def run_action(
        self,
        action: accounts.AccountAction,
        account_ids: Sequence[str] = (),
        *,
        all_accounts: bool = False,
    ) -> AsyncIterator[accounts.ActionProgress]:
        request = pb.RunAccountActionRequest(
            action=grpc_codec.action_to_pb(action), account_ids=list(account_ids),
            all=all_accounts,
        )  # fmt: skip
        async for item in self._stream(self._stub.RunAccountAction, request):
            yield grpc_codec.action_progress_from_pb(item)

    async def list_assets(
        self, account_id: str, *, page_size: int = 50, page_token: str = ""
    ) -> accounts.AssetPage:
        request = pb.ListAssetsRequest(
            account_id=account_id, page_size=page_size, page_token=page_token
        )
        return grpc_codec.asset_page_from_pb(await self._call(self._stub.ListAssets, request))

    async def stats(self) -> accounts.PoolStats:
        return grpc_codec.stats_from_pb(await self._call(self._stub.GetStats, pb.GetStatsRequest()))

    async def get_server_info(self) -> server_info.ServerInfo:
        """Which store the pool at ``address`` serves. Not part of ``PoolClient``: only a
        caller that reached a pool by address needs to ask (the in-process pool is the one
        its own settings built)."""
        answer = await self._call(self._stub.GetServerInfo, pb.GetServerInfoRequest())
        return grpc_codec.server_info_from_pb(answer)

    async def watch(self) -> AsyncIterator[accounts.AccountChange]:
        async for item in self._stream(self._stub.WatchAccounts, pb.WatchAccountsRequest()):
            yield grpc_codec.change_from_pb(item)

    async def export_accounts(self) -> AsyncIterator[accounts.ExportedAccount]:
        async for item in self._stream(self._stub.ExportAccounts, pb.ExportAccountsRequest()):
            yield grpc_codec.exported_from_pb(item)

    async def list_egresses(self) -> tuple[egresses.Egress, ...]:
        answer = await self._call(self._stub.ListEgresses, pb.ListEgressesRequest())
        return tuple(grpc_egress_codec.egress_from_pb(e) for e in answer.egresses)

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
        request = pb.AddEgressRequest(
            name=name, proxy_url=proxy_url, asset_proxy_url=asset_proxy_url, tags=list(tags),
            enabled=enabled, max_inflight=max_inflight, browser=browser, user_agent=user_agent,
            clearance_cookies=clearance_cookies,
        )  # fmt: skip
        return grpc_egress_codec.egress_from_pb(await self._call(self._stub.AddEgress, request))

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
        request = pb.UpdateEgressRequest(
            egress=egress, name=name, proxy_url=proxy_url, asset_proxy_url=asset_proxy_url,
            tags=list(tags or ()), set_tags=tags is not None, enabled=enabled,
            max_inflight=max_inflight, browser=browser, user_agent=user_agent,
            clearance_cookies=clearance_cookies,
        )  # fmt: skip
        answer = await self._call(self._stub.UpdateEgress, request)
        return grpc_egress_codec.egress_from_pb(answer)

    async def remove_egress(self, egress: str) -> None:
        await self._call(self._stub.RemoveEgress, pb.RemoveEgressRequest(egress=egress))

    async def test_egresses(
        self, egress_ids: Sequence[str] = (), *, all_egresses: bool = False
    ) -> AsyncIterator[egresses.EgressTest]:
        request = pb.TestEgressesRequest(egress_ids=list(egress_ids), all=all_egresses)
        async for item in self._stream(self._stub.TestEgresses, request):
            yield grpc_egress_codec.egress_test_from_pb(item)

    async def refresh_clearance(self, egress: str) -> egresses.ClearanceRefresh:
        # the solver may take its whole timeout: the call's deadline is the solver's, not ours
        request = pb.RefreshClearanceRequest(egress=egress)
        try:
            answer = await self._stub.RefreshClearance(request)
        except grpc.RpcError as exc:
            raise grpc_errors.from_rpc_error(exc) from exc
        return grpc_egress_codec.refresh_from_pb(answer)
