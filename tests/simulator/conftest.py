"""Fixtures for the simulator's own tests: an HTTP client and a basic account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from grok_sim.testing import SimHandle


@pytest.fixture
async def client(sim: SimHandle) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=sim.base_url, timeout=10.0) as http:
        yield http


@pytest.fixture
def account(sim: SimHandle) -> str:
    credential = "tok-basic-1"
    sim.add_account(credential, tier="basic")
    return credential
