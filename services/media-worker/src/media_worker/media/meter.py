"""A job's progress as its client sees it: one number that only goes up.

Attempts on other accounts and parallel sessions each report their own progress; the
meter publishes only what moves the job forward, so a client never sees it go back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from grok2api_media.jobs import MediaFile, Progress

Publish = Callable[[Mapping[str, Any]], Awaitable[None]]


class Meter:
    def __init__(self, publish: Publish, *, attempt: int = 1) -> None:
        self._publish = publish
        self._attempt = attempt
        self._shown = -1
        self._partials = 0

    async def report(self, progress: float, stage: str) -> None:
        """Publish ``progress`` (0-100, capped at 99 until the result) if it is news."""
        value = max(0, min(99, int(progress)))
        if value <= self._shown:
            return
        self._shown = value
        # ``Progress(...).model_dump()`` without the model: several of these go out per job,
        # and the value is already in range (the model's only check).
        await self._publish({
            "progress": value, "stage": stage, "index": None, "partial": None,
            "attempt": self._attempt,
        })  # fmt: skip

    async def partial(self, file: MediaFile, *, progress: float) -> None:
        """A preview image (always published: each one is a new picture), numbered from 0."""
        value = max(self._shown, max(0, min(99, int(progress))))
        self._shown = value
        index, self._partials = self._partials, self._partials + 1
        event = Progress(
            progress=value, stage="generating", index=index, partial=file, attempt=self._attempt
        )
        await self._publish(event.model_dump())
