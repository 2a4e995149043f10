"""Pinning benchmark processes to CPUs, every thread and child process included.

Affinity belongs to a thread, and a new thread or child inherits its creator's: pinning a
running process means setting it on each of its threads and on each descendant's threads,
which ``pin`` does from ``/proc``. Threads started afterwards follow their creators.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (children listed by each of their threads)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in children.read_text().split())
    return found


def pin(pids: Iterable[int], cpus: set[int]) -> None:
    """Run every thread of every process in the trees of ``pids`` on ``cpus`` only."""
    for pid in pids:
        for process in process_tree(pid):
            for task in Path(f"/proc/{process}/task").glob("*"):
                # A thread or process may end while we walk: nothing left to pin.
                with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                    os.sched_setaffinity(int(task.name), cpus)
