"""Wiring: build kopf's registry and settings, then run the operator until ``stop`` is set.

Replicas coordinate through kopf's peering: each one announces itself (identity,
priority, lifetime) in one cluster-wide ``ClusterKopfPeering`` object, and only the live
replica with the highest priority acts; the others pause until it leaves (on a clean stop
it removes itself at once; a crashed one is ignored once its lifetime has passed). The
priority is derived from the start time, so the oldest replica keeps acting and a rolling
update hands over only when it stops; random low bits break ties, since kopf pauses every
replica of equal priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import time
from collections.abc import Mapping
from typing import Any, cast

import kopf
from grok2api_poolclient.client import PoolClient
from grok2api_settings import Settings
from grok2api_settings.sections import ServerSettings

from . import errors, handlers, kubeapi, resources, timer_tasks

# Not yet in the settings contract; the lead may promote these to an `operator` section.
REFRESH_INTERVAL_SECONDS = 60.0
RETRY_DELAY_SECONDS = 15.0
WATCH_TIMEOUT_SECONDS = 300.0
PEERING_LIFETIME_SECONDS = 60
DEFAULT_PEERING = "grok2api"
PEERING_ENV = "OPERATOR_PEERING"
IDENTITY_ENV = "POD_NAME"

_TIE_BREAK_BITS = 16
_PRIORITY_EPOCH_LIMIT = 2**33  # unix seconds far in the future; keeps priorities positive

log = logging.getLogger(__name__)


def priority_for(started_at: float, *, tie_break: int) -> int:
    """kopf priority of a replica started at ``started_at`` (unix s): earlier is higher."""
    return (_PRIORITY_EPOCH_LIMIT - int(started_at)) << _TIE_BREAK_BITS | tie_break


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    refresh_interval: float = REFRESH_INTERVAL_SECONDS
    """Seconds between status refreshes of each GrokToken from the pool (and re-reads of
    its Secret, which is how a rotated credential is noticed)."""
    retry_delay: float = RETRY_DELAY_SECONDS
    """Seconds before a failed sync (missing Secret, pool down) or removal is retried."""
    watch_timeout: float = WATCH_TIMEOUT_SECONDS
    """Seconds a watch request stays open; shutdown waits up to this long for it to end."""
    peering: str = DEFAULT_PEERING
    """Name of the ClusterKopfPeering object the replicas share (the chart creates it;
    ``OPERATOR_PEERING``). Operators of different releases use different names."""
    identity: str = dataclasses.field(default_factory=lambda: socket.gethostname())
    """This replica's name in the peering and in ``status.operator`` (``POD_NAME``)."""
    priority: int = dataclasses.field(default_factory=lambda: priority_for(
        time.time(), tie_break=random.getrandbits(_TIE_BREAK_BITS)
    ))  # fmt: skip
    """kopf peering priority: the live replica with the highest one acts."""
    peering_lifetime: int = PEERING_LIFETIME_SECONDS
    """Seconds a replica's announcement stays valid: how long the others wait for a
    replica that died without saying goodbye."""
    liveness_endpoint: str | None = None
    """``http://host:port/path`` where kopf answers liveness probes (200 while the
    operator's loop runs, acting or paused); None: no HTTP at all."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, server: ServerSettings) -> Options:
        """``OPERATOR_PEERING`` and ``POD_NAME`` (the chart sets both) over the defaults;
        liveness on ``/healthz`` of ``SERVER_HOST:SERVER_PORT``, like every other target."""
        options = cls(liveness_endpoint=f"http://{server.host}:{server.port}/healthz")
        if environ.get(PEERING_ENV, "").strip():
            options = dataclasses.replace(options, peering=environ[PEERING_ENV].strip())
        if environ.get(IDENTITY_ENV, "").strip():
            options = dataclasses.replace(options, identity=environ[IDENTITY_ENV].strip())
        return options


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
    # Events are posted explicitly on state changes (see events.py); log lines are not
    # Events, or every refresh would post one.
    settings.posting.loggers = False
    # Cluster-wide and with the CRD installed before the operator (the chart's crds/):
    # no watch on CRDs or Namespaces, so the RBAC rules need neither.
    settings.scanning.disabled = True
    settings.peering.name = options.peering
    settings.peering.clusterwide = True
    settings.peering.mandatory = True
    settings.peering.priority = options.priority
    settings.peering.lifetime = options.peering_lifetime
    settings.peering.stealth = True  # keep-alives are not worth a log line each
    settings.watching.server_timeout = options.watch_timeout
    settings.watching.client_timeout = options.watch_timeout + 10
    return settings


async def run(
    settings: Settings, *, pool: PoolClient, stop: asyncio.Event, options: Options | None = None
) -> None:
    """Reconcile every GrokToken in the cluster with ``pool`` until ``stop`` is set.

    ``settings.server`` places the liveness endpoint; no other key affects the operator
    yet. Kubernetes access: ``GROK2API_KUBE_API_URL``, else in-cluster, else
    kubeconfig (see ``kubeapi.login``).
    """
    options = options or Options.from_environ(os.environ, server=settings.server)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, refresh_interval=options.refresh_interval)
    memo = kopf.Memo(
        pool=pool, connection=kubeapi.Connection(), retry_delay=options.retry_delay,
        identity=options.identity, timers=timer_tasks.TimerTasks(),
    )
    log.info(
        "operator starting identity=%s peering=%s priority=%s refresh_interval=%s",
        options.identity, options.peering, options.priority, options.refresh_interval,
    )
    # Created before kopf starts, so kopf leaves it alone (it cancels only its own tasks).
    check = asyncio.create_task(_require_peering(memo.connection, options.peering, stop))
    try:
        await _operate(registry, options, memo, stop)
    finally:
        check.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await check  # raises PeeringMissing when the check stopped the operator


async def _require_peering(
    connection: kubeapi.Connection, name: str, stop: asyncio.Event
) -> None:
    """Stop the operator with a clear error when its peering object is absent: kopf would
    otherwise keep the replica paused forever without a word."""
    await connection.logged_in.wait()
    try:
        exists = await kubeapi.peering_exists(connection, name=name)
    except errors.OperatorError as exc:  # cannot tell: kopf's own watch will retry
        log.warning("peering check failed peering=%s error=%s", name, exc)
        return
    if not exists:
        message = (
            f"the ClusterKopfPeering {name!r} does not exist, so no replica may act: install "
            "the chart's crds/kopfpeering.yaml and create the object (the chart does both), "
            f"or set {PEERING_ENV} to the name of an existing one"
        )
        log.error("operator stopping: %s", message)
        stop.set()
        raise errors.PeeringMissing(message)


async def _operate(
    registry: kopf.OperatorRegistry, options: Options, memo: kopf.Memo, stop: asyncio.Event
) -> None:
    await kopf.operator(
        registry=registry,
        settings=operator_settings(options),
        memo=memo,
        clusterwide=True,
        standalone=False,
        peering_name=options.peering,
        priority=options.priority,
        # kopf types it as its private NewType over str
        identity=cast(Any, options.identity),
        stop_flag=stop,
        liveness_endpoint=options.liveness_endpoint,
    )
