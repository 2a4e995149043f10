"""Pytest fixtures that run the upstream simulator.

- `sim_server` (session): one in-process simulator on an ephemeral port for the session.
- `sim` (function): a `SimHandle` on that server, reset before each test (accounts, faults,
  scripted replies, recordings, assets and options back to defaults).

    def test_something(sim):
        sim.add_account("tok-1", tier="super", quotas={"auto": 3})
        sim.set_fault("429", account="tok-1", times=1)
        client = MyClient(base_url=sim.base_url)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from .options import SimOptions
from .testing import SimHandle, running_simulator


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimHandle]:
    with running_simulator() as handle:
        yield handle


@pytest.fixture
def sim(sim_server: SimHandle) -> SimHandle:
    sim_server.reset()
    sim_server.set_options(**{
        k: v for k, v in dataclasses.asdict(SimOptions()).items() if k != "record_limit"
    })
    return sim_server
