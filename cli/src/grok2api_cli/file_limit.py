"""The process's open-file limit, raised to what its connection cap needs.

Every concurrent stream holds two descriptors (the client's connection and the upstream
one), so 2,000 streams need about 4,000, while the soft ``RLIMIT_NOFILE`` many systems start
a process with is 1,024 (a systemd service, a login shell). The hard limit is usually far
higher (containers: 1,048,576 under Docker, containerd and podman); raising the soft limit
to it needs no privilege. Past the soft limit, accepts and upstream connects fail with
EMFILE, which clients would see as refused connections and 502s.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

RESERVED = 256
"""Descriptors kept for everything but streams: listeners, databases, Redis, logs, gRPC."""


def needed(max_connections: int) -> int:
    """Descriptors for ``max_connections`` streams, each with its client, and the rest."""
    return 2 * max_connections + RESERVED


def raise_soft_limit(*, max_connections: int) -> int:
    """Raise the soft open-file limit to the hard one (never lower it); the soft limit now.
    Logs a warning naming the setting when even the hard limit is below :func:`needed`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log.info("file_limit_raised soft=%d now=%d", soft, hard)
        soft = hard
    want = needed(max_connections)
    if soft != resource.RLIM_INFINITY and soft < want:
        log.warning(
            "file_limit_low limit=%d needed=%d max_connections=%d hint=%r",
            soft, want, max_connections,
            "raise the container's or service's nofile limit (ulimit -n), or lower "
            "network.max_connections; past it connections fail with EMFILE",
        )  # fmt: skip
    return int(soft)
