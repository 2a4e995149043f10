"""The gRPC face of the pool: ``TokenPool`` servicer, health service, server lifecycle.

``create_server(service, address=..., info=...)`` builds and starts a ``grpc.aio`` server and
returns a ``ServingPool`` (bound port, ``stop()``; tests pass ``127.0.0.1:0``); ``serve`` runs
one until cancelled and then stops it gracefully. Errors become statuses in ``grpc_errors``
(one place). The port is never shared: a second pool on the same address fails to start
(``errors.ListenError``) instead of silently splitting the callers between two stores.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grok2api.tokenpool.v1.token_pool_pb2_grpc as pb_grpc
import grpc
from grok2api.tokenpool.v1 import token_pool_pb2 as pb
from grok2api_poolclient import errors, grpc_codec, grpc_egress_codec, grpc_errors, server_info
from grok2api_poolclient.client import PoolClient
from grok2api_telemetry import tracing
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from . import errors as pool_errors
from . import grpc_tracing, lease_stream

log = logging.getLogger(__name__)

SERVICE_NAME = "grok2api.tokenpool.v1.TokenPool"
GRACE_SECONDS = 5.0
SERVER_OPTIONS = [
    # gRPC sets SO_REUSEPORT by default, which let a second pool bind the same port unseen.
    ("grpc.so_reuseport", 0),
    # Connections are replaced every few minutes, so clients resolve the pool's address
    # again and find replicas added since (a headless Service lists every pod). Lease
    # streams move well within the grace (clients rotate them every 30 s).
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 120_000),
]
T = TypeVar("T")


async def _guard(context: grpc.aio.ServicerContext, call: Awaitable[T], *, subject: str = "") -> T:
    try:
        return await call
    except errors.PoolError as exc:
        await context.abort_with_status(grpc_errors.to_status(exc, subject=subject))
        raise AssertionError("abort_with_status returned") from exc


class TokenPoolServicer(pb_grpc.TokenPoolServicer):
    def __init__(self, pool: PoolClient, *, info: server_info.ServerInfo | None = None) -> None:
        self._pool = pool
        self._info = info
        self._sessions: set[lease_stream.LeaseSession] = set()
        self._draining = False

    def drain(self) -> None:
        """End every lease stream cleanly and refuse new ones: callers move their unread
        items to another replica instead of waiting for this one's grace to run out."""
        self._draining = True
        for session in self._sessions:
            session.drain()

    async def Acquire(self, request: pb.AcquireRequest, context: Any) -> pb.Lease:
        lease = await _guard(context, self._pool.acquire(
            model=request.model, cost=request.cost or None,
            exclude=tuple(request.exclude_account_ids), request_id=request.request_id,
            prefer_tier=request.prefer_tier, account_id=request.account_id,
            account_tags=tuple(request.account_tags),
        ), subject=request.model)  # fmt: skip
        return grpc_codec.lease_to_pb(lease)

    async def Release(self, request: pb.ReleaseRequest, context: Any) -> pb.ReleaseResponse:
        outcome = grpc_codec.outcome_from_pb(request.outcome)
        if outcome is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "an outcome is required")
        assert outcome is not None
        await _guard(context, self._pool.release(
            grpc_codec.lease_from_pb(request.lease), outcome=outcome,
            retry_after=request.retry_after if request.HasField("retry_after") else None,
            quota=tuple(grpc_codec.figures_from_pb(f) for f in request.quota),
        ))  # fmt: skip
        return pb.ReleaseResponse()

    async def RenewLease(
        self, request: pb.RenewLeaseRequest, context: Any
    ) -> pb.RenewLeaseResponse:
        if not request.lease.lease_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a lease_id is required")
        lease = grpc_codec.lease_from_pb(request.lease)
        expires_at = await _guard(context, self._pool.renew(lease))
        if expires_at is None:
            return pb.RenewLeaseResponse(renewed=False)
        return pb.RenewLeaseResponse(renewed=True, expires_at=expires_at)

    async def SetUserId(self, request: pb.SetUserIdRequest, context: Any) -> pb.SetUserIdResponse:
        await _guard(context, self._pool.set_user_id(request.account_id, request.user_id))
        return pb.SetUserIdResponse()

    async def LeaseBatches(
        self, request_iterator: AsyncIterator[pb.LeaseBatch], context: Any
    ) -> None:
        pool = self._pool
        if not isinstance(pool, lease_stream.BatchPool):
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this pool serves unary calls only")
            return
        if self._draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "this token pool replica is stopping")
        session = lease_stream.LeaseSession(pool, context)
        self._sessions.add(session)
        try:
            await session.run(request_iterator)
        finally:
            self._sessions.discard(session)

    async def UpsertAccount(self, request: pb.UpsertAccountRequest, context: Any) -> pb.Account:
        account = await _guard(context, self._pool.upsert_account(
            credential=request.credential or None, account_id=request.account_id or None,
            tier=grpc_codec.tier_from_pb(request.tier),
            enabled=request.enabled if request.HasField("enabled") else None,
            tags=tuple(request.tags) if request.set_tags else None,
            note=request.note if request.HasField("note") else None,
        ))  # fmt: skip
        return grpc_codec.account_to_pb(account)

    async def RemoveAccount(
        self, request: pb.RemoveAccountRequest, context: Any
    ) -> pb.RemoveAccountResponse:
        await _guard(context, self._pool.remove_account(request.account_id))
        return pb.RemoveAccountResponse()

    async def GetAccount(self, request: pb.GetAccountRequest, context: Any) -> pb.Account:
        account = await _guard(context, self._pool.get_account(request.account_id))
        return grpc_codec.account_to_pb(account)

    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: Any
    ) -> pb.ListAccountsResponse:
        page = await _guard(context, self._pool.list_accounts(
            tier=grpc_codec.tier_from_pb(request.tier),
            status=grpc_codec.status_from_pb(request.status),
            tag=request.tag or None, search=request.search or None,
            page_size=request.page_size or 100, page_token=request.page_token,
            sort=grpc_codec.sort_from_pb(request.sort), descending=request.descending,
        ))  # fmt: skip
        return pb.ListAccountsResponse(
            accounts=[grpc_codec.account_to_pb(a) for a in page.accounts],
            next_page_token=page.next_page_token,
            total=page.total,
        )

    async def RefreshUsage(
        self, request: pb.RefreshUsageRequest, context: Any
    ) -> AsyncIterator[pb.RefreshProgress]:
        stream = self._pool.refresh_usage(tuple(request.account_ids), all_accounts=request.all)
        async for item in _guarded_stream(context, stream):
            yield grpc_codec.progress_to_pb(item)

    async def RunAccountAction(
        self, request: pb.RunAccountActionRequest, context: Any
    ) -> AsyncIterator[pb.ActionProgress]:
        action = grpc_codec.action_from_pb(request.action)
        if action is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "an action is required")
        assert action is not None
        stream = self._pool.run_action(action, tuple(request.account_ids), all_accounts=request.all)
        async for item in _guarded_stream(context, stream):
            yield grpc_codec.action_progress_to_pb(item)

    async def ListAssets(
        self, request: pb.ListAssetsRequest, context: Any
    ) -> pb.ListAssetsResponse:
        page = await _guard(context, self._pool.list_assets(
            request.account_id, page_size=request.page_size or 50,
            page_token=request.page_token,
        ))  # fmt: skip
        return grpc_codec.asset_page_to_pb(page)

    async def GetStats(self, request: pb.GetStatsRequest, context: Any) -> pb.PoolStats:
        return grpc_codec.stats_to_pb(await _guard(context, self._pool.stats()))

    async def GetServerInfo(self, request: pb.GetServerInfoRequest, context: Any) -> pb.ServerInfo:
        if self._info is None:
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED, "this pool was started without a store identity"
            )
        assert self._info is not None
        return grpc_codec.server_info_to_pb(self._info)

    async def WatchAccounts(
        self, request: pb.WatchAccountsRequest, context: Any
    ) -> AsyncIterator[pb.AccountChange]:
        async for item in _guarded_stream(context, self._pool.watch()):
            yield grpc_codec.change_to_pb(item)

    async def ExportAccounts(
        self, request: pb.ExportAccountsRequest, context: Any
    ) -> AsyncIterator[pb.ExportedAccount]:
        async for item in _guarded_stream(context, self._pool.export_accounts()):
            yield grpc_codec.exported_to_pb(item)

    async def ListEgresses(
        self, request: pb.ListEgressesRequest, context: Any
    ) -> pb.ListEgressesResponse:
        found = await _guard(context, self._pool.list_egresses())
        return pb.ListEgressesResponse(egresses=[grpc_egress_codec.egress_to_pb(e) for e in found])

    async def AddEgress(self, request: pb.AddEgressRequest, context: Any) -> pb.Egress:
        egress = await _guard(context, self._pool.add_egress(
            name=request.name, proxy_url=request.proxy_url,
            asset_proxy_url=request.asset_proxy_url, tags=tuple(request.tags),
            enabled=request.enabled, max_inflight=request.max_inflight, browser=request.browser,
            user_agent=request.user_agent, clearance_cookies=request.clearance_cookies,
        ))  # fmt: skip
        return grpc_egress_codec.egress_to_pb(egress)

    async def UpdateEgress(self, request: pb.UpdateEgressRequest, context: Any) -> pb.Egress:
        def given(field: str) -> Any:
            return getattr(request, field) if request.HasField(field) else None

        egress = await _guard(context, self._pool.update_egress(
            request.egress, name=given("name"), proxy_url=given("proxy_url"),
            asset_proxy_url=given("asset_proxy_url"),
            tags=tuple(request.tags) if request.set_tags else None, enabled=given("enabled"),
            max_inflight=given("max_inflight"), browser=given("browser"),
            user_agent=given("user_agent"), clearance_cookies=given("clearance_cookies"),
        ))  # fmt: skip
        return grpc_egress_codec.egress_to_pb(egress)

    async def RemoveEgress(
        self, request: pb.RemoveEgressRequest, context: Any
    ) -> pb.RemoveEgressResponse:
        await _guard(context, self._pool.remove_egress(request.egress))
        return pb.RemoveEgressResponse()

    async def TestEgresses(
        self, request: pb.TestEgressesRequest, context: Any
    ) -> AsyncIterator[pb.EgressTest]:
        stream = self._pool.test_egresses(tuple(request.egress_ids), all_egresses=request.all)
        async for item in _guarded_stream(context, stream):
            yield grpc_egress_codec.egress_test_to_pb(item)

    async def RefreshClearance(
        self, request: pb.RefreshClearanceRequest, context: Any
    ) -> pb.ClearanceRefresh:
        done = await _guard(context, self._pool.refresh_clearance(request.egress))
        return grpc_egress_codec.refresh_to_pb(done)


async def _guarded_stream(context: Any, stream: AsyncIterator[T]) -> AsyncIterator[T]:
    try:
        async for item in stream:
            yield item
    except errors.PoolError as exc:
        await context.abort_with_status(grpc_errors.to_status(exc))


@dataclasses.dataclass(frozen=True)
class ServingPool:
    """A started server: its bound port and the health service it reports through."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    servicer: TokenPoolServicer

    async def stop(self, *, grace: float = GRACE_SECONDS) -> None:
        """Report NOT_SERVING (probes and balancers drain), refuse new calls, end the lease
        streams cleanly, let running calls finish within ``grace`` seconds, then stop."""
        await self.health.enter_graceful_shutdown()
        stopping = asyncio.ensure_future(self.server.stop(grace))
        await asyncio.sleep(0)  # the server refuses new calls before the streams end
        self.servicer.drain()
        await stopping
        log.info("grpc_server_stopped port=%d", self.port)


async def create_server(
    pool: PoolClient, *, address: str, info: server_info.ServerInfo | None = None
) -> ServingPool:
    """Build, bind and start the server (``:0`` picks a free port).

    ``info`` is what ``GetServerInfo`` answers (the store this pool serves); without it
    the call is UNIMPLEMENTED, which a careful client treats as a pool it cannot trust.
    ``token_pool.errors.ListenError`` when the address is taken or cannot be bound.
    """
    refuse_if_taken(address)
    # Tracing is decided at start: off, no interceptor runs.
    interceptors = [grpc_tracing.Interceptor()] if tracing.enabled() else None
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=interceptors)
    servicer = TokenPoolServicer(pool, info=info)
    pb_grpc.add_TokenPoolServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        await server.stop(None)
        raise _listen_error(address) from exc
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("grpc_server_started address=%s port=%d", address, port)
    return ServingPool(server=server, port=port, health=health_servicer, servicer=servicer)


def refuse_if_taken(address: str) -> None:
    """Raise ``ListenError`` when another socket already listens on ``address``.

    gRPC's own bind would fail too, but its core first prints a log line of its own to
    stderr (it cannot be silenced once grpc is loaded), and a refused start should say
    what to do in one line. Whatever this probe cannot judge is left to gRPC's bind.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) == 0:
        return
    try:
        candidates = socket.getaddrinfo(
            host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError):
        return
    for family, kind, proto, _, sockaddr in candidates:
        try:
            with socket.socket(family, kind, proto) as probe:
                # As gRPC binds: a port in TIME_WAIT is free, one with a listener is not.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise _listen_error(address) from exc


def _listen_error(address: str) -> pool_errors.ListenError:
    return pool_errors.ListenError(
        f"cannot listen on {address} for the token pool (is another grok2api using it?): "
        "set TOKEN_POOL_ADDR to a free address"
    )


async def serve(
    pool: PoolClient, *, address: str, ready: Callable[[int], None] | None = None
) -> None:
    """Run a server until cancelled, then shut it down gracefully."""
    serving = await create_server(pool, address=address)
    if ready is not None:
        ready(serving.port)
    try:
        await serving.server.wait_for_termination()
    finally:
        await asyncio.shield(serving.stop())
