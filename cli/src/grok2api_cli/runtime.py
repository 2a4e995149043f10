"""Running a service until SIGINT/SIGTERM, then stopping everything cleanly.

The first signal asks every part to stop (HTTP servers drain, background tasks are
cancelled, stores close); a second one exits at once. No traceback either way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import uvicorn

log = logging.getLogger(__name__)

Main = Callable[[asyncio.Event], Awaitable[None]]


def run(main: Main) -> None:
    """Run ``main(stop)`` in a fresh event loop; ``stop`` is set on the first signal."""
    try:
        asyncio.run(_with_signals(main))
    except KeyboardInterrupt:
        pass


async def _with_signals(main: Main) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("shutdown_forced signal=%s", signal.Signals(signum).name)
            if task is not None:
                task.cancel()
            return
        log.info("shutdown_requested signal=%s", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await main(stop)
    except asyncio.CancelledError:
        pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        # Signals belong to ``run``: it stops every part, not just the HTTP server.
        pass


async def serve_http(app: object, *, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` until ``stop`` is set, then drain open requests briefly."""
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,
        lifespan="on",
    )
    server = _Server(config)

    async def watch() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(watch())
    try:
        await server.serve()
        if not server.started:
            raise OSError(f"could not listen on {host}:{port}")
    finally:
        watcher.cancel()
