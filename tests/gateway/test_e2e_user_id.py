"""End to end on network.chat_protocol = mgw: the account's user id is discovered from
/api/auth/session by its first chat, recorded in the pool, and carried by later leases,
so a later chat makes no session call, even from a fresh GrokClient (another replica);
with the in-process pool and over gRPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from gateway_stack import Stack, running_stack
from grok2api_poolclient.leases import Outcome
from grok_sim.testing import SimHandle
from grok_web.client import GrokClient
from grok_web.options import ClientOptions

pytestmark = pytest.mark.e2e
USER = [{"role": "user", "content": "Hello there"}]


def _session_calls(stack: Stack) -> int:
    return len(stack.sim.requests(path="/api/auth/session"))


def _handshake_uids(stack: Stack) -> list[str]:
    """The ``uid`` of every mgw upgrade (the recorded GET; client messages are WS)."""
    upgrades = [r for r in stack.sim.requests(path="/ws/mgw/") if r["method"] == "GET"]
    return [parse_qs(r["query"]).get("uid", [""])[0] for r in upgrades]


async def _ask(stack: Stack, *, stream: bool) -> str:
    answer: Any = await stack.client().chat.completions.create(
        model="grok-4", messages=USER, stream=stream
    )
    if stream:
        return "".join([c.choices[0].delta.content or "" async for c in answer if c.choices])
    return str(answer.choices[0].message.content)


@pytest.mark.parametrize("grpc", [False, True], ids=["in_process", "grpc"])
async def test_the_second_chat_needs_no_session_call_even_on_a_fresh_client(
    sim: SimHandle, tmp_path: Path, grpc: bool
) -> None:
    async with running_stack(
        sim=sim, data_dir=tmp_path, grpc=grpc, network={"chat_protocol": "mgw"}
    ) as stack:
        account_id = await stack.add("sso-user-id")
        before = _session_calls(stack)
        stack.sim.script_reply("first", times=1)
        assert await _ask(stack, stream=False) == "first"
        assert _session_calls(stack) == before + 1  # discovered once
        [discovered] = _handshake_uids(stack)
        await stack.app.state.services.chat.user_ids.drain()
        lease = await stack.pool.acquire(model="grok-4", account_id=account_id)
        await stack.pool.release(lease, outcome=Outcome.CANCELLED)
        assert lease.user_id == discovered  # recorded in the pool
        assert stack.grok is not None
        replica = GrokClient(options=ClientOptions.from_settings(stack.live.current))
        original, stack.grok.inner = stack.grok.inner, replica  # another replica's client
        try:
            stack.sim.script_reply("second", times=2)
            assert await _ask(stack, stream=True) == "second"
            assert await _ask(stack, stream=False) == "second"
        finally:
            stack.grok.inner = original
            await replica.aclose()
        assert _session_calls(stack) == before + 1
        assert _handshake_uids(stack) == [discovered] * 3
