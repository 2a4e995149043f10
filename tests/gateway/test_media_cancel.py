"""A synchronous media request owns its job: when its client goes away before the answer,
streaming or not, the gateway cancels the job, and the worker sees it finished."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from grok2api_media import jobs as media_jobs
from media_fakes import MediaGateway, hang, media_gateway, png
from prometheus_client import REGISTRY


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[MediaGateway]:
    async with media_gateway(tmp_path) as running:
        for kind in media_jobs.KINDS:
            running.worker.scripts[kind] = hang
        yield running


async def _job_running(gw: MediaGateway) -> str:
    async with asyncio.timeout(5):
        await gw.worker.claimed.wait()
        job_id = gw.worker.last().id
        await gw.wait_status(job_id, "in_progress")
    return job_id


async def _stream_then_leave(gw: MediaGateway, path: str, body: dict[str, Any]) -> str:
    async with (
        httpx2.AsyncClient(timeout=5) as http,
        http.stream("POST", gw.base_url + path, json=body) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if "progress" in line or "Generating" in line:
                break  # the job runs: leave mid-stream
    return gw.worker.last().id


async def _wait_then_leave(gw: MediaGateway, path: str, **kwargs: Any) -> str:
    async with httpx2.AsyncClient() as http:
        request = asyncio.create_task(http.post(gw.base_url + path, timeout=30, **kwargs))
        job_id = await _job_running(gw)
        request.cancel()  # the client gives up: its connection closes
        with pytest.raises(asyncio.CancelledError):
            await request
    return job_id


async def test_image_stream_closed_early_cancels_the_job(gw: MediaGateway) -> None:
    job_id = await _stream_then_leave(gw, "/v1/images/generations",
                                      {"prompt": "x", "stream": True})  # fmt: skip
    record = await gw.wait_status(job_id, "cancelled")
    assert record.error["code"] == "cancelled"
    await _until(lambda: job_id in gw.worker.stopped)  # the worker stopped publishing


async def test_chat_video_stream_closed_early_cancels_the_job(gw: MediaGateway) -> None:
    job_id = await _stream_then_leave(gw, "/v1/chat/completions", {
        "model": "grok-imagine-1.0-video", "stream": True,
        "messages": [{"role": "user", "content": "x"}],
    })  # fmt: skip
    await gw.wait_status(job_id, "cancelled")


async def test_image_wait_abandoned_by_its_client_cancels_the_job(gw: MediaGateway) -> None:
    before = _count("/v1/images/generations", "499")
    job_id = await _wait_then_leave(gw, "/v1/images/generations", json={"prompt": "x"})
    await gw.wait_status(job_id, "cancelled")
    await _until(lambda: _count("/v1/images/generations", "499") == before + 1)


async def test_edit_wait_abandoned_by_its_client_cancels_the_job(gw: MediaGateway) -> None:
    job_id = await _wait_then_leave(
        gw, "/v1/images/edits", data={"prompt": "x"},
        files={"image": ("a.png", png(), "image/png")},
    )  # fmt: skip
    await gw.wait_status(job_id, "cancelled")


async def test_chat_image_wait_abandoned_by_its_client_cancels_the_job(gw: MediaGateway) -> None:
    job_id = await _wait_then_leave(gw, "/v1/chat/completions", content=json.dumps({
        "model": "grok-imagine-1.0", "messages": [{"role": "user", "content": "x"}],
    }), headers={"content-type": "application/json"})  # fmt: skip
    await gw.wait_status(job_id, "cancelled")


async def test_a_video_of_the_videos_api_is_not_cancelled_when_its_client_leaves(
    gw: MediaGateway,
) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(gw.base_url + "/v1/videos", json={"prompt": "x"})
    job_id = response.json()["id"].removeprefix("video_")
    await gw.wait_status(job_id, "in_progress")
    await asyncio.sleep(0.2)
    record = await gw.record(job_id)
    assert record.status.value == "in_progress"
    await gw.queue.cancel(job_id)  # let the fake worker stop


def _count(route: str, status: str) -> float:
    return REGISTRY.get_sample_value(
        "grok2api_gateway_requests_total",
        {"route": route, "model": "grok-imagine-1.0", "status": status},
    ) or 0.0


async def _until(condition: Any, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)
