"""Fixtures for gateway tests: a fake pool, a scripted fake Grok client, a running gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gateway.app import create_app
from gateway_fakes import FakeGrok, FakePool, Gateway, make_settings, serve, text_reply


@pytest.fixture
def fake_pool() -> FakePool:
    return FakePool()


@pytest.fixture
def fake_grok() -> FakeGrok:
    grok = FakeGrok()
    grok.scripts["*"] = text_reply("Hello", " world")
    return grok


@pytest.fixture
async def gateway(fake_pool: FakePool, fake_grok: FakeGrok) -> AsyncIterator[Gateway]:
    live = make_settings()
    app = create_app(settings=live, pool=fake_pool, grok=fake_grok, client_keys=None)
    async with serve(app) as base_url:
        running = Gateway(base_url=base_url, app=app, live=live, pool=fake_pool, grok=fake_grok)
        try:
            yield running
        finally:
            for client in running.clients:
                await client.close()
