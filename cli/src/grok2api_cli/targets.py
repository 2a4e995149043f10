"""The run targets: every service in one process, or one service as its Deployment runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator

from grok2api_settings import Settings
from token_pool import errors as pool_errors

from . import bootstrap, file_limit, runtime, worker_metrics

# How long SERVER_WORKERS > 1 waits for its token-pool child to serve.
POOL_START_SECONDS = 120.0

log = logging.getLogger(__name__)

TargetMain = Callable[[Settings, asyncio.Event], Awaitable[None]]

# Each layout's modules are imported only when it runs: the single-process one loads every
# service, which a split target never needs; a split one loads redis-py, which the
# single-process mode never connects to (about 15 MB held for its life).
def _main_of(target: str) -> TargetMain:
    if target == "all":
        from . import single_process

        return single_process.run
    from . import split

    mains: dict[str, TargetMain] = {
        "gateway": split.gateway,
        "token-pool": split.token_pool,
        "media-worker": split.media_worker,
        "admin": split.admin,
        "operator": split.operator,
    }
    return mains[target]


def run(target: str, settings: Settings) -> None:
    # before anything listens or connects; worker processes inherit it
    file_limit.raise_soft_limit(max_connections=settings.network.max_connections)
    if target == "all" and settings.server.workers > 1:
        run_worker_processes(settings)
        return
    if target == "gateway" and settings.server.workers > 1:
        from . import split

        split.run_gateway_workers(settings)
        return
    failure: list[BaseException] = []

    async def main(stop: asyncio.Event) -> None:
        try:
            with _pool_start_errors():
                await _main_of(target)(settings, stop)
        except bootstrap.StartupError as exc:
            failure.append(exc)

    runtime.run(main)
    if failure:
        raise failure[0]
    log.info("stopped target=%s", target)


@contextlib.contextmanager
def _pool_start_errors() -> Iterator[None]:
    """The pool's own start errors (a taken TOKEN_POOL_ADDR) already name the setting."""
    try:
        yield
    except pool_errors.ConfigurationError as exc:
        raise bootstrap.StartupError(str(exc)) from exc


def run_worker_processes(settings: Settings) -> None:
    """SERVER_WORKERS > 1 in the single-process layout: the pool and a media worker run as
    child processes sharing Redis, and N gateway worker processes share the port."""
    if not settings.services.redis_url:
        raise bootstrap.StartupError(
            f"SERVER_WORKERS={settings.server.workers} needs REDIS_URL: worker processes share "
            "the token pool's state through Redis (or set SERVER_WORKERS=1)"
        )
    asyncio.run(_check_redis(settings))
    from token_pool import grpc_server

    from . import split

    with _pool_start_errors():
        # Here, not only in the child: waiting for "a pool" on a taken address would find
        # another instance's pool and serve from its store.
        grpc_server.refuse_if_taken(split.listen_address(settings))
    children = [_spawn("token-pool")]
    try:
        asyncio.run(_wait_for_pool(settings, child=children[0]))
        children.append(_spawn("media-worker"))
        split.run_gateway_workers(settings)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)


def _spawn(target: str) -> subprocess.Popen[bytes]:
    # The gateway workers own SERVER_PORT; the children's probe servers take any free port.
    return subprocess.Popen(
        [sys.executable, "-m", "grok2api_cli.main", "run", "--target", target],
        env=worker_metrics.without_directory({**os.environ, "SERVER_PORT": "0"}),
    )


async def _check_redis(settings: Settings) -> None:
    from . import preflight

    client = await preflight.require_redis(settings, target="all")
    await client.aclose()


async def _wait_for_pool(settings: Settings, *, child: subprocess.Popen[bytes]) -> None:
    from . import preflight

    # A deadline, not a count of tries: on a busy machine the child's imports alone can
    # outlast a hundred quick refusals.
    deadline = time.monotonic() + POOL_START_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise bootstrap.StartupError(
                f"the token-pool process stopped with status {child.returncode} (its message "
                "is above); check TOKEN_POOL_ADDR and the store settings"
            )
        try:
            await preflight.require_pool(settings, target="gateway")
            return
        except bootstrap.StartupError:
            await asyncio.sleep(0.2)
    await preflight.require_pool(settings, target="gateway")
