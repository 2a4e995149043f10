"""Pytest fixtures that run the upstream simulator.

- `sim_server` (session): one in-process simulator on an ephemeral port for the session.
- `sim` (function): a `SimHandle` on that server, reset before each test (accounts, faults,
  scripted replies, recordings, assets and options back to the startup state).

    def test_something(sim):
        sim.add_account("tok-1", tier="super", quotas={"auto": 3})
        sim.set_fault("429", account="tok-1", times=1)
        client = MyClient(base_url=sim.base_url)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .testing import SimHandle, running_simulator


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimHandle]:
    with running_simulator() as handle:
        yield handle


@pytest.fixture
def sim(sim_server: SimHandle) -> SimHandle:
    sim_server.reset()
    return sim_server
