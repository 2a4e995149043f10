"""When a changed setting takes effect.

Most settings are read through ``LiveSettings.current`` on every use, so a runtime override
applies to the next request. Some are read once, when a process builds its servers,
connections and workers: those need a restart, and a few cannot be changed at runtime at
all because the runtime override store itself depends on them. Keys are matched exactly or
by section prefix (``"server."``).
"""

from __future__ import annotations

from typing import Final

READ_ONLY: Final[dict[str, str]] = {
    "data_dir": "the data directory holds the files every other setting is read from",
    "server.storage_type": "runtime overrides are kept in this store",
    "server.storage_url": "runtime overrides are kept in this store",
    "security.encryption_key": "stored credentials stay encrypted with the key they were "
    "written with; set it in the environment and re-encrypt instead",
}
"""Settings that runtime overrides may not change, and why."""

RESTART: Final[dict[str, str]] = {
    "server.": "the HTTP server and its limits are set up when a process starts",
    "services.": "connections to Redis and the token pool are opened at start",
    "log.": "logging is configured at start",
    "telemetry.metrics_enabled": "metrics are set up at start",
    "telemetry.service_name": "tracing is set up at start",
    "telemetry.otlp_endpoint": "tracing is set up at start",
    "cache.limit_mb": "each process builds its media store at start",
    "cache.enable_auto_clean": "each process builds its media store at start",
    "cache.job_ttl_seconds": "the media job queue is built at start",
    "performance.media_max_concurrent": "media workers size their pools at start",
    "performance.media_reclaim_seconds": "media workers start their heartbeats at start",
}
"""Settings read once at start: a change is stored now and applies after a restart."""


def read_only(dotted: str) -> str | None:
    """Why ``dotted`` cannot be overridden at runtime, or None when it can."""
    return _match(READ_ONLY, dotted)


def restart_required(dotted: str) -> str | None:
    """Why a change of ``dotted`` needs a restart, or None when it applies at once."""
    return _match(READ_ONLY, dotted) or _match(RESTART, dotted)


def _match(table: dict[str, str], dotted: str) -> str | None:
    if dotted in table:
        return table[dotted]
    section, _, _ = dotted.partition(".")
    return table.get(f"{section}.")
