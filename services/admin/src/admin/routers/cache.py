"""The media file cache: its size against the limit, files by type, clearing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from .. import audit, media_cache

router = APIRouter(tags=["cache"])


def _cache(request: Request) -> media_cache.MediaCache:
    cache: media_cache.MediaCache | None = getattr(request.app.state, "media_cache", None)
    if cache is None:
        raise HTTPException(status_code=503, detail="this admin app has no media cache")
    return cache


Cache = Annotated[media_cache.MediaCache, Depends(_cache)]


def _scope(request: Request) -> media_cache.Scope:
    return getattr(request.app.state, "media_scope", "admin_data_dir")


@router.get("/cache")
async def cache_summary(request: Request, cache: Cache) -> dict[str, Any]:
    """Size against ``cache.limit_mb``, and files and bytes by type (image, video, upload)."""
    return await media_cache.summary(cache, scope=_scope(request))


@router.delete("/cache")
async def clear_cache(
    request: Request,
    cache: Cache,
    types: Annotated[list[str] | None, Query(alias="type")] = None,
) -> dict[str, Any]:
    """Delete the cached files, of the given ``type`` (repeatable) or all of them."""
    known = list((await cache.usage_by_kind()).keys())
    wanted = types or known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise HTTPException(
            status_code=400, detail=f"unknown type {', '.join(unknown)}; one of {', '.join(known)}"
        )
    removed_bytes, removed_files = await cache.clear(wanted)
    await audit.audit(
        request, "cache.clear", ",".join(wanted),
        removed_files=removed_files, removed_bytes=removed_bytes,
    )
    return {
        "scope": _scope(request),
        "types": wanted,
        "removed_files": removed_files,
        "removed_bytes": removed_bytes,
    }
