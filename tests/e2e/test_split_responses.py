"""The Responses API across a split deployment: one conversation through
``previous_response_id`` whose turns each go to a different gateway process, the stored
responses shared through Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from grok_sim.testing import SimHandle

from .conftest import Service, free_port, start_ready, wait_grpc
from .test_split_targets import add_accounts

pytestmark = pytest.mark.e2e


@pytest.fixture
def gateways(
    base_env: dict[str, str], redis_db: str, simulator: SimHandle, tmp_path: Path
) -> Iterator[list[str]]:
    pool_addr = f"127.0.0.1:{free_port()}"
    env = {**base_env, "REDIS_URL": redis_db, "TOKEN_POOL_ADDR": pool_addr,
           "SERVER_STORAGE_TYPE": "local", "GROK2API_NETWORK__CHAT_PROTOCOL": "rest"}  # fmt: skip
    (tmp_path / "data").mkdir()
    services = [Service("token-pool", {**env, "SERVER_PORT": str(free_port())})]
    try:
        wait_grpc(pool_addr, services[0])
        urls = start_ready("gateway", env, 3, into=services)
        simulator.add_account("responses-split", tier="basic")
        asyncio.run(add_accounts(pool_addr, ["responses-split"]))
        yield urls
    finally:
        for service in reversed(services):
            service.stop()


def test_a_three_turn_conversation_moves_across_gateways(
    gateways: list[str], simulator: SimHandle
) -> None:
    clients = [openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
               for url in gateways]  # fmt: skip
    previous = None
    for turn, client in enumerate(clients):
        simulator.script_reply(f"answer {turn}")
        response = client.responses.create(
            model="grok-4", input=f"question {turn}", previous_response_id=previous
        )
        assert response.output_text == f"answer {turn}"
        previous = response.id
    sent = simulator.requests(path="/rest/app-chat/conversations/new")[-1]["json"]["message"]
    for turn in range(3):  # the last turn's prompt carries the whole conversation
        assert f"question {turn}" in sent
    assert "answer 0" in sent and "answer 1" in sent
    assert clients[0].responses.retrieve(previous).output_text == "answer 2"
    items = clients[1].responses.input_items.list(previous)
    assert [item.type for item in items.data] == ["message"]
