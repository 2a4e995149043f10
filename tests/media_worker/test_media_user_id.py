"""Chat-based image generation on mgw: the first job's turn discovers the account's user
id (/api/auth/session) and the worker records it in the pool; later jobs pass the lease's
user id and never look it up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from grok2api_jobs import EventType
from grok2api_media import jobs
from grok2api_poolclient.leases import Outcome
from grok_sim.testing import SimHandle
from grok_web import session
from media_stack import MediaStack, running_media_stack

JOB = {"model": "grok-imagine-1.0", "prompt": "a red fox", "n": 1}


async def _stored_user_id(stack: MediaStack, account_id: str) -> str:
    """The user id the pool's leases carry (recording happens in the background)."""
    for _ in range(100):
        lease = await stack.pool.acquire(model="grok-4", account_id=account_id)
        await stack.pool.release(lease, outcome=Outcome.CANCELLED)
        if lease.user_id:
            return lease.user_id
        await asyncio.sleep(0.02)
    return ""


async def test_chat_based_images_record_and_reuse_the_user_id(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_media_stack(
        sim=sim, data_dir=tmp_path, network={"chat_protocol": "mgw"}, image={"image_ws": False}
    ) as stack:
        account_id = await stack.add("img-uid", auto=80, fast=80)
        _, final = await stack.run(jobs.KIND_IMAGE, JOB)
        assert final.type is EventType.RESULT, final.data
        assert len(sim.requests(path="/api/auth/session")) == 1
        user_id = await _stored_user_id(stack, account_id)
        assert user_id

        async def no_lookup(*args: object, **kwargs: object) -> str:
            raise AssertionError("the user id was looked up although the lease carried it")

        monkeypatch.setattr(session.UserIdCache, "get", no_lookup)
        _, final = await stack.run(jobs.KIND_IMAGE, JOB)
        assert final.type is EventType.RESULT, final.data
        assert len(sim.requests(path="/api/auth/session")) == 1
        upgrades = [r for r in sim.requests(path="/ws/mgw/") if r["method"] == "GET"]
        assert len(upgrades) >= 2
        assert [r["query"] for r in upgrades] == [f"uid={user_id}"] * len(upgrades)
