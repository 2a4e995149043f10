"""Wiring: build kopf's registry and settings, then run the operator until ``stop`` is set."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import kopf
from grok2api_poolclient.client import PoolClient
from grok2api_settings import Settings

from . import handlers, kubeapi, resources

# Not yet in the settings contract; the lead may promote these to an `operator` section.
REFRESH_INTERVAL_SECONDS = 60.0
RETRY_DELAY_SECONDS = 15.0
WATCH_TIMEOUT_SECONDS = 300.0

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    refresh_interval: float = REFRESH_INTERVAL_SECONDS
    """Seconds between status refreshes of each GrokToken from the pool."""
    retry_delay: float = RETRY_DELAY_SECONDS
    """Seconds before a failed sync (missing Secret, pool down) or removal is retried."""
    watch_timeout: float = WATCH_TIMEOUT_SECONDS
    """Seconds a watch request stays open; shutdown waits up to this long for it to end."""


def operator_settings(options: Options) -> kopf.OperatorSettings:
    """kopf settings: progress and diff-base in annotations so ``status`` keeps our schema."""
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = f"{resources.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=resources.GROUP
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=resources.GROUP, key="last-handled-configuration"
    )
    # Handler and kopf log records become Kubernetes Events (kopf posts none by default);
    # every message is written without the credential (see handlers and status.scrub).
    settings.posting.loggers = True
    settings.watching.server_timeout = options.watch_timeout
    settings.watching.client_timeout = options.watch_timeout + 10
    return settings


async def run(
    settings: Settings, *, pool: PoolClient, stop: asyncio.Event, options: Options | None = None
) -> None:
    """Reconcile every GrokToken in the cluster with ``pool`` until ``stop`` is set.

    ``settings`` is accepted for symmetry with the other targets; no key affects the
    operator yet. Kubernetes access: ``GROK2API_KUBE_API_URL``, else in-cluster, else
    kubeconfig (see ``kubeapi.login``).
    """
    options = options or Options()
    registry = kopf.OperatorRegistry()
    handlers.register(registry, refresh_interval=options.refresh_interval)
    memo = kopf.Memo(
        pool=pool, connection=kubeapi.Connection(), retry_delay=options.retry_delay
    )
    log.info("operator starting refresh_interval=%s", options.refresh_interval)
    await kopf.operator(
        registry=registry,
        settings=operator_settings(options),
        memo=memo,
        clusterwide=True,
        standalone=True,
        stop_flag=stop,
    )
