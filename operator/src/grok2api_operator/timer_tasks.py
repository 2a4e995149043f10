"""The refresh timers' asyncio tasks, so the operator can end them all when it stops.

kopf stops a timer by setting its stop flag, and only for the timers its daemon killer
knows when the operator begins to stop. Two kinds outlive that, and kopf waits 5 s for them
before it cancels them (meanwhile they go on refreshing, and writing status for a replica
that has already left the peering):

- an object event still being handled at the stop (kopf lets its workers finish) spawns
  the object's timer again once the killer is gone, with a stop flag nobody ever sets;
- a timer stopped in the middle of a refresh goes on to write status through kopf's API
  client, which is closing, and waits there for a login that never comes.

The operator's cleanup handler runs after kopf's workers have finished and before that
wait, so it cancels every timer still running (``cancel_all``).
"""

from __future__ import annotations

import asyncio
from typing import Any


class TimerTasks:
    """The running refresh timers of one operator run (shared through kopf's ``memo``)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def track_current(self) -> None:
        """Remember the calling timer's task until it ends."""
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> int:
        """Cancel every timer still running and wait until they have ended; how many."""
        running = [task for task in self._tasks if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        return len(running)
