"""A media job submitted with account tags (``MediaService.submit(account_tags=...)``) is
generated only with accounts carrying one of them: the gateway puts the tags in the job's
payload, the worker passes them to every acquire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gateway.chat import attachments
from gateway.media.service import MediaService
from grok2api_jobs import EventType, JobEvent
from grok2api_media import jobs
from grok2api_poolclient import leases
from grok_sim.testing import SimHandle
from media_stack import MediaStack, running_media_stack

IMAGINE = "/ws/imagine/listen"


@pytest.fixture
async def stack(sim: SimHandle, tmp_path: Path) -> AsyncIterator[MediaStack]:
    async with running_media_stack(sim=sim, data_dir=tmp_path) as running:
        yield running


async def _submit(stack: MediaStack, *tags: str, n: int = 8) -> list[JobEvent]:
    media = MediaService(
        settings=stack.live, queue=stack.queue, blobs=stack.blobs, fetcher=attachments.Fetcher()
    )
    job = jobs.ImageJob(model="grok-imagine-1.0", prompt="a red fox", n=n)
    job_id = await media.submit(jobs.KIND_IMAGE, job, metadata={}, account_tags=tags)
    return [event async for event in stack.queue.events(job_id)]


def _imagine_cookies(sim: SimHandle) -> list[str]:
    """The cookie of each Imagine WebSocket handshake (one per session)."""
    return [r["headers"]["cookie"] for r in sim.requests(path=IMAGINE) if r["method"] != "WS"]


async def test_an_image_job_uses_only_the_tagged_account(stack: MediaStack) -> None:
    for n in range(3):
        await stack.add(f"img-other-{n}", auto=80)
    team = await stack.add("img-team", auto=80)
    await stack.pool.upsert_account(account_id=team, tags=["team-a"])

    events = await _submit(stack, "team-a")

    assert events[-1].type is EventType.RESULT, events[-1].data
    assert len(jobs.ImageResult.model_validate(events[-1].data).images) == 8
    cookies = _imagine_cookies(stack.sim)
    assert len(cookies) == 2  # two parallel sessions of 4 ...
    assert all("img-team" in cookie for cookie in cookies)  # ... both on the team's account


async def test_without_tags_the_job_may_use_any_account(stack: MediaStack) -> None:
    for n in range(3):
        await stack.add(f"img-other-{n}", auto=80)
    team = await stack.add("img-team", auto=80)
    await stack.pool.upsert_account(account_id=team, tags=["team-a"])

    events = await _submit(stack)

    assert events[-1].type is EventType.RESULT, events[-1].data
    assert len({cookie for cookie in _imagine_cookies(stack.sim)}) == 2  # spread out


async def test_a_job_for_tags_no_account_carries_fails_without_an_upstream_call(
    stack: MediaStack,
) -> None:
    await stack.add("img-other", auto=80)

    events = await _submit(stack, "team-z", n=1)

    assert events[-1].type is EventType.ERROR
    error = events[-1].data
    assert error["code"] == "no_available_account"
    assert "the tags team-z" in error["message"] and "tag accounts" in error["message"]
    assert _imagine_cookies(stack.sim) == []


def test_the_payload_carries_the_tags_the_worker_reads() -> None:
    parsed = jobs.VideoJob.model_validate({"model": "m", "prompt": "p", "account_tags": ["a"]})
    assert parsed.account_tags == ("a",)
    assert jobs.ImageEditJob(model="m", prompt="p", images=()).account_tags == ()
    assert leases.account_tags([" a ", "a"]) == ("a",)

