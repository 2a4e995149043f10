"""Fixtures of the token pool's egress tests (the store, hot state and clock fixtures come
from tests/token_pool/conftest.py): pool replicas with an egress store, and real proxies
and the simulator's solver from the egress test bed (tests/egress/egress_proxies.py,
imported, not copied; the fixtures are this package's own)."""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from egress_harness import EgressPool
from grok2api_storage import protocols
from grok_sim.testing import SolverHandle, running_solver
from pool_harness import Clock, HotFactory

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "egress"))
from egress_proxies import Credentials, RunningProxy, running_tinyproxy

StartTinyproxy = Callable[..., RunningProxy]


@pytest.fixture
async def egress_pool(
    store: protocols.Store, hot_factory: HotFactory, clock: Clock
) -> AsyncIterator[EgressPool]:
    built = EgressPool(store=store, hot_factory=hot_factory, clock=clock)
    yield built
    await built.close()


@pytest.fixture
def start_tinyproxy(tmp_path: Path) -> Iterator[StartTinyproxy]:
    """Start tinyproxy exiting from a loopback address (optionally with BasicAuth)."""
    numbers = itertools.count()
    with contextlib.ExitStack() as stack:

        def start(exit_address: str, *, credentials: Credentials | None = None) -> RunningProxy:
            workdir = tmp_path / f"tinyproxy-{exit_address}-{next(numbers)}"
            return stack.enter_context(
                running_tinyproxy(
                    exit_address=exit_address, workdir=workdir, credentials=credentials
                )
            )

        yield start


@pytest.fixture(scope="session")
def solver() -> Iterator[SolverHandle]:
    """The simulator's FlareSolverr-compatible solver (its counters grow across tests)."""
    with running_solver() as handle:
        yield handle
