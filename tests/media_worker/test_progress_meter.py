"""The progress meter publishes exactly what ``Progress(...).model_dump()`` gives (it builds
the dict itself: several go out per job)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grok2api_media.jobs import Progress
from media_worker.media.meter import Meter


async def test_reports_are_progress_models_dumped_and_only_go_up() -> None:
    published: list[Mapping[str, Any]] = []

    async def publish(data: Mapping[str, Any]) -> None:
        published.append(data)

    meter = Meter(publish, attempt=2)
    await meter.report(40.7, "generating")
    await meter.report(30, "generating")  # not news: dropped
    await meter.report(150, "downloading")  # capped at 99 until the result
    assert published == [
        Progress(progress=40, stage="generating", attempt=2).model_dump(),
        Progress(progress=99, stage="downloading", attempt=2).model_dump(),
    ]
    assert [type(value) for value in published[0].values()] == [
        type(value) for value in Progress(progress=40, stage="x").model_dump().values()
    ]
