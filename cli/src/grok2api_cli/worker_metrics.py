"""Prometheus metrics of ``SERVER_WORKERS`` > 1 gateway processes, counted once.

uvicorn's worker processes share one port, so a scrape reaches whichever worker accepts it.
prometheus-client's multiprocess mode makes any of them answer for all: each process writes
its samples to memory-mapped files in the directory ``PROMETHEUS_MULTIPROC_DIR`` names (read
by prometheus-client when it is imported, so the supervisor sets it before it starts the
workers, in ``shared_directory``), and ``/metrics`` sums the files (``metrics_app``).
Counters and histograms of workers that stopped still count (a counter never goes back);
gauges say how they combine with their ``multiprocess_mode``. A process's ``process_*`` and
``python_gc_*`` figures cannot be summed and are left out in this mode.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grok2api_telemetry import metrics
from prometheus_client import CollectorRegistry, multiprocess
from starlette.types import ASGIApp

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh, empty directory for the workers' metric files, named in this process's
    environment (which the workers inherit) while the block runs, removed afterwards: no
    sample of an earlier run is ever added in."""
    path = Path(tempfile.mkdtemp(prefix="grok2api-metrics-"))
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def without_directory(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child that runs as one process (the pool, a media worker): its metrics
    are its own, never summed with the gateway workers'."""
    return {name: value for name, value in env.items() if name != ENV}


def metrics_app() -> ASGIApp:
    """This process's ``/metrics``: every worker's samples summed when it is one of several
    worker processes (``ENV`` set), else its own registry."""
    path = os.environ.get(ENV)
    if not path:
        return metrics.metrics_app()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    # A stopped worker's live gauges (``livesum`` …) must stop counting.
    atexit.register(multiprocess.mark_process_dead, os.getpid(), path)
    return metrics.metrics_app(registry)
