"""The media file cache as the admin service sees it.

Media files live in ``DATA_DIR/media`` of the process that made or received them. In the
single-process mode that is this process: the figures cover every file. In a split
deployment they live on the gateways' and media workers' shared volume; the admin service
sees them only when that volume is mounted at its own ``DATA_DIR`` (``scope`` says which of
the two an answer describes, so the panel can say so).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

Scope = Literal["all", "admin_data_dir"]

SCOPE_NOTES: dict[str, str] = {
    "all": "every media file: this process makes and serves them all",
    "admin_data_dir": "the files in the admin service's DATA_DIR/media: all of them when it "
    "mounts the volume the gateways and media workers share, none otherwise",
}


class MediaCache(Protocol):
    """What the admin needs of ``grok2api_media.blobs.BlobStore``."""

    root: Path
    limit_bytes: int | None
    auto_clean: bool

    async def usage_by_kind(self) -> dict[str, tuple[int, int]]: ...

    async def clear(self, kinds: Iterable[str] = ...) -> tuple[int, int]: ...


async def summary(cache: MediaCache, *, scope: Scope) -> dict[str, Any]:
    """The ``GET /cache`` body: size against the limit, files and bytes by type."""
    usage = await cache.usage_by_kind()
    total = sum(size for size, _ in usage.values())
    limit = cache.limit_bytes
    return {
        "scope": scope,
        "scope_note": SCOPE_NOTES[scope],
        "root": str(cache.root),
        "limit_bytes": limit,
        "auto_clean": cache.auto_clean,
        "total_bytes": total,
        "files": sum(files for _, files in usage.values()),
        "used_fraction": round(total / limit, 4) if limit else None,
        "by_type": {kind: {"bytes": size, "files": files} for kind, (size, files) in usage.items()},
    }
