"""Fixtures of the egress tests: real proxies on loopback, and the FlareSolverr-compatible
solver of the simulator.

    def test_x(sim, start_tinyproxy, start_dante, solver):
        creds = Credentials(username="u", password="p")
        http_proxy = start_tinyproxy("127.0.0.2", credentials=creds)
        socks_proxy = start_dante("127.0.0.3")
        ... http_proxy.url() / socks_proxy.url(scheme="socks5h") ...
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from egress_proxies import Credentials, RunningProxy, running_dante, running_tinyproxy
from grok_sim.testing import SolverHandle, running_solver

StartTinyproxy = Callable[..., RunningProxy]
StartDante = Callable[[str], RunningProxy]


@pytest.fixture
def start_tinyproxy(tmp_path: Path) -> Iterator[StartTinyproxy]:
    """Start tinyproxy exiting from an address (optionally with BasicAuth); stopped after."""
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:
        def start(exit_address: str, *, credentials: Credentials | None = None) -> RunningProxy:
            workdir = tmp_path / f"tinyproxy-{exit_address}-{next(numbers)}"
            return stack.enter_context(running_tinyproxy(
                exit_address=exit_address, workdir=workdir, credentials=credentials))
        yield start


@pytest.fixture
def start_dante(tmp_path: Path) -> Iterator[StartDante]:
    """Start dante (SOCKS5) exiting from an address; stopped after."""
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:
        def start(exit_address: str) -> RunningProxy:
            workdir = tmp_path / f"danted-{exit_address}-{next(numbers)}"
            return stack.enter_context(running_dante(exit_address=exit_address, workdir=workdir))
        yield start


@pytest.fixture(scope="session")
def solver_server() -> Iterator[SolverHandle]:
    with running_solver() as handle:
        yield handle


@pytest.fixture
def solver(solver_server: SolverHandle) -> SolverHandle:
    """The FlareSolverr-compatible solver (its counters keep growing across tests)."""
    return solver_server
