"""More concurrent chats than ``network.max_connections``: they wait for a slot and still
finish, and the wait shows (the wait gauge and counter, one rate-limited log line naming
the setting), through the real gateway, pool and GrokClient against the simulator."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from gateway_stack import running_stack
from grok_sim.testing import SimHandle
from grok_web import connection_cap
from prometheus_client import REGISTRY

pytestmark = pytest.mark.e2e

CAP = 2
CHATS = 6
REPLY = "one two three four five six"


def sample(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind}) or 0.0


@pytest.mark.parametrize("protocol, kind", [("mgw", "websocket"), ("rest", "http")])
async def test_chats_beyond_the_cap_wait_say_so_and_finish(
    sim: SimHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch,
    protocol: str, kind: str,
) -> None:
    monkeypatch.setattr(connection_cap, "_last_logged", [])  # this process may have logged
    waits_before = sample("grok2api_upstream_connection_waits_total", kind)
    async with running_stack(
        sim=sim, data_dir=tmp_path,
        network={"chat_protocol": protocol, "max_connections": CAP},
        token={"max_inflight_per_account": CHATS},
    ) as stack:
        await stack.add("sso-cap")
        sim.script_reply(REPLY, times=CHATS)
        sim.set_fault("slow-tokens", delay_ms=60)  # each stream holds its slot a while
        client = stack.client()

        async def chat() -> str:
            stream = await client.chat.completions.create(
                model="grok-4", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream
                            if c.choices])

        with caplog.at_level(logging.WARNING, logger=connection_cap.__name__):
            answers = await asyncio.gather(*(chat() for _ in range(CHATS)))

    assert answers == [REPLY] * CHATS
    # at most CAP ran at once, so at least CHATS - CAP had to wait for a slot
    waited = sample("grok2api_upstream_connection_waits_total", kind) - waits_before
    assert waited >= CHATS - CAP
    assert sample("grok2api_upstream_connection_waiting", kind) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == connection_cap.__name__]
    assert len(lines) == 1, lines  # many waits, one line per interval
    assert f"limit={CAP}" in lines[0]  # the first wait of any kind (mgw looks up a user id)
    assert "network.max_connections" in lines[0] and "waiting=" in lines[0]
