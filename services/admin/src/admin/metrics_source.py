"""Where the dashboard's figures come from: the services' own Prometheus metrics.

``RegistrySource`` reads this process's registry (the single-process mode: every service's
metrics are in it). ``ScrapeSource`` fetches ``/metrics`` of each URL listed in
``telemetry.metrics_urls`` (read on every scrape, so a change applies at once) and parses
the text with ``prometheus_client.parser``.

Samples of several services are merged into one ``Samples`` map: counters and histograms of
replicas add up (each gateway counts its own requests), while the pool's and the media
queue's gauges describe shared state that every replica reports, so the largest one wins.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

if TYPE_CHECKING:
    # Imported when the first scrape is made: in `grok2api run` the admin reads its own
    # registry and never scrapes, and aiohttp costs every process about 8 MB.
    import aiohttp

SampleKey = tuple[str, tuple[tuple[str, str], ...]]
"""(sample name, sorted label pairs)."""
Samples = dict[SampleKey, float]

SHARED_GAUGE_PREFIXES = ("grok2api_pool_", "grok2api_media_queue_depth")
PREFIX = "grok2api_"
SCRAPE_TIMEOUT = 5.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """One scraped URL and how its last scrape went."""

    url: str
    ok: bool
    error: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    at: float
    samples: Samples
    targets: tuple[Target, ...] = ()


class Source(Protocol):
    kind: str

    async def snapshot(self) -> Snapshot: ...


class RegistrySource:
    """The metrics of this process (its default registry unless told otherwise)."""

    kind = "registry"

    def __init__(
        self, registry: CollectorRegistry = REGISTRY, *, clock: Callable[[], float] = time.time
    ):
        self._registry = registry
        self._clock = clock

    async def snapshot(self) -> Snapshot:
        samples: Samples = {}
        merge(samples, (s for metric in self._registry.collect() for s in metric.samples))
        return Snapshot(at=self._clock(), samples=samples)


class ScrapeSource:
    """The metrics of the services at ``urls()`` (full URLs of their ``/metrics``)."""

    kind = "scrape"

    def __init__(
        self,
        urls: Callable[[], Sequence[str]],
        *,
        session: Callable[[], aiohttp.ClientSession] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self._urls = urls
        self._session = session or _session
        self._clock = clock

    async def snapshot(self) -> Snapshot:
        urls = list(self._urls())
        samples: Samples = {}
        async with self._session() as session:
            results = await asyncio.gather(
                *(self._fetch(session, url) for url in urls), return_exceptions=True
            )
        targets = []
        for url, result in zip(urls, results, strict=True):
            if isinstance(result, BaseException):
                targets.append(Target(url=url, ok=False, error=_describe(result)))
                continue
            merge(samples, result)
            targets.append(Target(url=url, ok=True))
        return Snapshot(at=self._clock(), samples=samples, targets=tuple(targets))

    @staticmethod
    async def _fetch(session: aiohttp.ClientSession, url: str) -> list[Sample]:
        async with session.get(url) as response:
            response.raise_for_status()
            text = await response.text()
        return [s for family in text_string_to_metric_families(text) for s in family.samples]


def merge(samples: Samples, new: Iterable[Sample]) -> None:
    """Add ``new`` (one service's samples) into ``samples``; see the module docstring."""
    for sample in new:
        if not sample.name.startswith(PREFIX) or sample.name.endswith("_created"):
            continue
        key = (sample.name, tuple(sorted(sample.labels.items())))
        if key not in samples:
            samples[key] = sample.value
        elif sample.name.startswith(SHARED_GAUGE_PREFIXES):
            samples[key] = max(samples[key], sample.value)
        else:
            samples[key] += sample.value


def _session() -> aiohttp.ClientSession:
    import aiohttp

    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT))


def _describe(exc: BaseException) -> str:
    import aiohttp

    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {SCRAPE_TIMEOUT:g} s"
    return str(exc) or type(exc).__name__
