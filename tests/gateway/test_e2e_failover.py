"""End to end: no client-visible failure while a healthy account could answer.

A third of the pool misbehaves in every transient way the upstream has (5xx, a connection
reset, a stall before the first byte, an empty answer); every request through the gateway
still comes back with its own answer, and the misbehaving accounts end up cooling.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from gateway_stack import Stack, running_stack
from grok2api_poolclient.accounts import AccountStatus
from grok_sim.testing import SimHandle

pytestmark = pytest.mark.e2e

HEALTHY = [f"sso-healthy-{n}" for n in range(8)]
FAULTS = {  # credential → (simulator fault, its parameters)
    "sso-answers-5xx": ("500", {}),
    "sso-resets": ("drop", {"after_frames": 0}),
    "sso-stalls": ("stall", {"after_frames": 0}),
    "sso-answers-empty": ("empty", {}),  # REST: an empty body; mgw: response.done alone
}
# Where each generation's chat turns start (REST posts; mgw: the account's user id, fetched
# once, then the handshake).
CHAT_PATHS = {
    "rest": ("/rest/app-chat/conversations/new",),
    "mgw": ("/api/auth/session", "/ws/mgw/"),
}


@pytest.fixture(params=["rest", "mgw"])
def protocol(request: pytest.FixtureRequest) -> str:
    """Each test runs on both generations of grok.com's chat (network.chat_protocol)."""
    return str(request.param)
REQUESTS = 200
CONCURRENCY = 16


def _prompt(n: int) -> str:
    return f"question {n} [[sim:reply={json.dumps({'text': f'answer {n}'})}]]"


async def _ask(stack: Stack, n: int, *, stream: bool) -> str:
    messages = [{"role": "user", "content": _prompt(n)}]
    client = stack.client()
    if not stream:
        answer = await client.chat.completions.create(model="grok-4", messages=messages)
        return answer.choices[0].message.content or ""
    chunks = await client.chat.completions.create(model="grok-4", messages=messages, stream=True)
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


@pytest.mark.parametrize("grpc", [False, True], ids=["in-process-pool", "pool-over-grpc"])
async def test_every_request_gets_its_answer_while_a_third_of_the_pool_fails(
    sim: SimHandle, tmp_path: Path, grpc: bool, protocol: str
) -> None:
    async with running_stack(
        sim=sim, data_dir=tmp_path, grpc=grpc, timeout={"first_byte_timeout": 2.0},
        network={"chat_protocol": protocol},
    ) as stack:
        for credential in HEALTHY:
            await stack.add(credential, auto=80)  # the window the pool assumes
        for credential, (fault, params) in FAULTS.items():
            await stack.add(credential, auto=80)  # the window the pool assumes
            sim.set_fault(fault, account=credential, **params)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(n: int) -> str:
            async with gate:
                return await _ask(stack, n, stream=n % 2 == 0)

        answers = await asyncio.gather(*(one(n) for n in range(REQUESTS)))
        assert answers == [f"answer {n}" for n in range(REQUESTS)]
        chats = [request for path in CHAT_PATHS[protocol] for request in sim.requests(path=path)]
        tried = {request["headers"].get("cookie", "") for request in chats}
        for credential in FAULTS:  # each bad account was really tried, then benched
            assert any(credential in cookie for cookie in tried), credential
            assert (await stack.account(credential)).status is AccountStatus.COOLING
        for credential in HEALTHY:
            assert (await stack.account(credential)).status is AccountStatus.ACTIVE


async def test_two_healthy_accounts_answer_everything_while_five_others_misbehave(
    sim: SimHandle, tmp_path: Path, protocol: str
) -> None:
    misbehaving = {  # every way an account can fail, each on its own account
        "sso-invalid": ("401", {}),
        "sso-rate-limited": ("429", {}),
        "sso-challenged": ("cf", {}),
        "sso-blocked": ("blocked", {}),
        "sso-answers-502": ("502", {}),
    }
    async with running_stack(
        sim=sim, data_dir=tmp_path, network={"chat_protocol": protocol}
    ) as stack:
        for credential in ("sso-healthy-a", "sso-healthy-b", *misbehaving):
            await stack.add(credential, auto=80)
        for credential, (fault, params) in misbehaving.items():
            sim.set_fault(fault, account=credential, **params)
        gate = asyncio.Semaphore(4)

        async def one(n: int) -> str:
            async with gate:
                return await _ask(stack, n, stream=n % 2 == 1)

        answers = await asyncio.gather(*(one(n) for n in range(40)))
        assert answers == [f"answer {n}" for n in range(40)]
