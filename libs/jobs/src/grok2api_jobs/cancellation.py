"""A guard for loops that must stop when their task is cancelled.

redis-py's asyncio client on Python 3.11 sometimes loses a cancellation: a command that
was cancelled just as its answer arrived returns normally (``asyncio.wait_for`` in 3.11
drops a cancel that races the inner future's completion). A loop around such calls then
never stops, and ``asyncio.timeout`` around it never fires (it cancels only once). Long
loops call ``raise_if_cancelling()`` after each call so a lost cancel is re-raised.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Raise ``CancelledError`` if the current task has a cancel request pending.

    Only for loops that never catch ``CancelledError`` themselves: a task that handled a
    cancel without ``uncancel()`` still counts as cancelling."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
