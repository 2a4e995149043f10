"""Reaching the token pool from a command: over gRPC when it runs, else in process.

A command talks to the running token pool over gRPC (``--addr``, default TOKEN_POOL_ADDR),
once it has said (``GetServerInfo``) that it serves the store this command's settings name:
a pool of another data directory or database is refused, never written to. When no pool
answers, or with ``--local``, it opens the durable store directly with an in-process pool
(the single-process mode's way; with REDIS_URL set the shared hot state is kept in step).

Configuration and connection errors (settings, store, Redis, the pool) end a command in
``run`` with one line naming what to fix, exit status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from grok2api_poolclient import errors
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_settings import Settings
from grok2api_storage import StorageError, identity
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from token_pool import errors as pool_errors

from . import bootstrap

T = TypeVar("T")

ConfigOption = typer.Option(None, "--config", "-c", help="Config file.")
AddrOption = typer.Option(None, "--addr", help="Token pool address (default TOKEN_POOL_ADDR).")
LocalOption = typer.Option(False, "--local", help="Use the durable store directly.")
PROBE_TIMEOUT_SECONDS = 2.0


def _local_settings(settings: Settings) -> Settings:
    """No periodic refresh from a short-lived CLI process."""
    values = settings.model_dump()
    values["token"]["auto_refresh"] = False
    return Settings.model_validate(values)


@contextlib.asynccontextmanager
async def opened(config: Path | None, addr: str | None, local: bool) -> AsyncIterator[PoolClient]:
    from token_pool import main as pool_main

    settings = bootstrap.load_settings(config).settings
    own = identity.identify(settings)
    if not local:
        address = addr or settings.services.token_pool_addr
        setting = "--addr" if addr else "TOKEN_POOL_ADDR"
        async with GrpcPoolClient(address, timeout=60) as remote:
            if await _answers(remote):
                await _check_same_store(remote, own, setting=setting)
                yield remote
                return
        typer.echo(
            f"token pool not reachable at {address}: using the store directly ({own.location})",
            err=True,
        )
    redis = None
    if settings.services.redis_url:
        redis = await pool_main.connect_redis(settings.services.redis_url)
    try:
        # A pool for the length of one command: the scraped replicas keep reporting the
        # pool-wide gauges meanwhile.
        async with pool_main.running(
            _local_settings(settings), redis=redis, grpc_address=None, report_metrics=False
        ) as pool:
            yield pool
    finally:
        if redis is not None:
            await redis.aclose()


async def _answers(remote: GrpcPoolClient) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await remote.stats()
    except (errors.PoolUnavailable, TimeoutError):
        return False
    return True


async def _check_same_store(
    remote: GrpcPoolClient, own: identity.StoreIdentity, *, setting: str
) -> None:
    """Refuse a pool that serves another store than ``own``: writing through it would put
    the accounts into another instance's store."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            served = await remote.get_server_info()
    except (errors.PoolError, TimeoutError) as exc:
        raise bootstrap.StartupError(
            f"the token pool at {remote.address} ({setting}) cannot say which store it serves "
            "(an older grok2api?): upgrade it, or use --local to work on this command's store "
            f"({own.location}) directly"
        ) from exc
    if served.store_fingerprint != own.fingerprint:
        raise bootstrap.StartupError(
            f"the token pool at {remote.address} ({setting}) serves another store than this "
            f"command's settings name ({own.location}): stop the grok2api that owns that pool, "
            f"point {setting} at the pool of this data directory, or use --local"
        )


def run(
    config: Path | None, addr: str | None, local: bool, job: Callable[[PoolClient], Awaitable[T]]
) -> T:
    async def main() -> T:
        async with opened(config, addr, local) as pool:
            return await job(pool)

    try:
        return asyncio.run(main())
    except errors.PoolUnavailable as exc:
        bootstrap.fail(f"{exc}: is the token pool at TOKEN_POOL_ADDR (or --addr) still running?")
    except (
        bootstrap.StartupError, pool_errors.ConfigurationError, StorageError, errors.PoolError
    ) as exc:  # fmt: skip
        # The one place a command's errors become its one line: each message names the
        # setting to fix (store, key, Redis, pool); anything else is a bug and keeps its
        # traceback.
        bootstrap.fail(str(exc) or type(exc).__name__)


def progress() -> Progress:
    """A progress bar on stderr (stdout stays for the command's answer)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True),
    )  # fmt: skip
