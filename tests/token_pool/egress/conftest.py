"""Fixtures of the token pool's egress tests (the store, hot state and clock fixtures come
from tests/token_pool/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from egress_harness import EgressPool
from grok2api_storage import protocols
from pool_harness import Clock, HotFactory


@pytest.fixture
async def egress_pool(
    store: protocols.Store, hot_factory: HotFactory, clock: Clock
) -> AsyncIterator[EgressPool]:
    built = EgressPool(store=store, hot_factory=hot_factory, clock=clock)
    yield built
    await built.close()
