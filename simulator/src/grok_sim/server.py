"""Running the simulator under uvicorn: in the foreground, or in a background thread."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from collections.abc import Iterable

import uvicorn

from .app import create_app
from .errors import SimError
from .options import SimOptions
from .protocol import DecliningH2CHttpToolsProtocol
from .state import SeedAccount

logger = logging.getLogger(__name__)


def uvicorn_config(
    *, host: str, port: int, options: SimOptions, seed_accounts: Iterable[SeedAccount],
    log_level: str = "warning",
) -> uvicorn.Config:
    """Config with uvloop (when installed), httptools (h2c offers declined), no access log."""
    has = importlib.util.find_spec
    return uvicorn.Config(
        create_app(options=options, seed_accounts=seed_accounts),
        host=host,
        port=port,
        loop="uvloop" if has("uvloop") else "asyncio",
        http=DecliningH2CHttpToolsProtocol,
        ws="websockets-sansio",
        access_log=False,
        # The client address is the TCP peer: a request through a proxy comes from its exit
        # address, whatever X-Forwarded-For says (clearance is bound to that address).
        proxy_headers=False,
        server_header=False,
        log_level=log_level,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
        backlog=4096,
    )


def solver_config(*, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """Config of the FlareSolverr-compatible solver (grok_sim.solver)."""
    from .solver import create_solver_app

    return uvicorn.Config(create_solver_app(), host=host, port=port, access_log=False,
                          server_header=False, log_level=log_level, lifespan="off",
                          proxy_headers=False, timeout_graceful_shutdown=2)


class ThreadedServer:
    """A uvicorn server on its own thread and loop; `port` is the real bound port."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="grok-sim", daemon=True)
        self.port = 0

    def _run(self) -> None:
        # uvloop cannot be installed on a non-main thread's policy in every version; a plain
        # asyncio loop is enough for in-process tests.
        asyncio.run(self._server.serve())

    def start(self, *, timeout: float = 10.0) -> int:
        self._thread.start()
        ready = threading.Event()

        def watch() -> None:
            while not self._server.started and self._thread.is_alive():
                threading.Event().wait(0.01)
            ready.set()

        threading.Thread(target=watch, daemon=True).start()
        if not ready.wait(timeout) or not self._server.started:
            raise SimError("simulator did not start")
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1]
        logger.info("sim_started port=%s", self.port)
        return self.port

    def stop(self, *, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
