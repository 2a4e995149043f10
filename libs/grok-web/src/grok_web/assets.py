"""Assets: the uploaded-file value (§9), download (§10.1), list (§10.2), delete (§10.3).
Uploads themselves live in :mod:`grok_web.uploads`."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from grok_web import context, errors, translate

ASSETS = "/rest/assets"
ASSET_METADATA = "/rest/assets-metadata/"
DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class UploadedFile:
    """An uploaded file. ``file_id`` goes into chat ``fileAttachments`` (fileMetadataId,
    else fileId, else uploadId); ``file_uri`` (``users/<uid>/<id>/content``) is the asset
    path, which media-post requests reference by URL; ``file_metadata_id`` is what
    ``mediaGenInput`` requests reference ('' when the upstream did not name one)."""

    file_id: str
    file_uri: str
    file_metadata_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Asset:
    """One entry of the asset list (fields the upstream may omit are '')."""

    asset_id: str
    name: str = ""
    mime_type: str = ""
    key: str = ""
    size: int | None = None
    created_at: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class AssetPage:
    """One page of assets; ``next_page_token`` is '' on the last page."""

    assets: tuple[Asset, ...]
    next_page_token: str


def asset_url(*, ctx: context.Context, path: str) -> str:
    """Absolute asset URL: relative paths are joined to the assets origin."""
    if path.startswith(("http://", "https://")):
        return path
    return ctx.options.endpoints.assets_url + "/" + path.lstrip("/")


async def download_asset(
    *,
    ctx: context.Context,
    credential: str,
    path: str,
    max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
) -> AsyncIterator[bytes]:
    """Stream an asset's bytes; raises :class:`errors.AssetTooLarge` once more than
    ``max_bytes`` arrived (the transfer is aborted) and :class:`errors.NotFound` on 404."""
    url = asset_url(ctx=ctx, path=path)
    headers = ctx.headers.download(credential=credential, url=url, referer=ctx.page("/"))
    received = 0
    async with ctx.transport.stream(
        "GET", url, headers=headers, secrets=(credential,), asset=True, follow_redirects=True
    ) as response:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise errors.AssetTooLarge(f"asset is {declared} bytes, cap is {max_bytes}")
        async for chunk in response.chunks(idle_timeout=ctx.options.timeouts.request):
            received += len(chunk)
            if received > max_bytes:
                raise errors.AssetTooLarge(f"asset exceeds the cap of {max_bytes} bytes")
            yield chunk


async def list_assets(
    *, ctx: context.Context, credential: str, page_token: str = "", page_size: int = 50
) -> AssetPage:
    """One page of the account's assets, most recently used first."""
    params = {
        "pageSize": str(page_size),
        "orderBy": "ORDER_BY_LAST_USE_TIME",
        "source": "SOURCE_ANY",
        "isLatest": "true",
    }
    if page_token:
        params["pageToken"] = page_token
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=ctx.page("/files"))
    response = await ctx.transport.request(
        "GET", ctx.url(ASSETS), headers=headers, params=params, secrets=(credential,)
    )
    data = translate.json_object(response.content, what="assets")
    items = data.get("assets", data.get("items")) or []
    if not isinstance(items, list):
        raise translate.malformed("assets is not a list")
    assets = tuple(_asset(item) for item in items if isinstance(item, dict))
    return AssetPage(assets, str(data.get("nextPageToken") or ""))


async def iter_assets(
    *, ctx: context.Context, credential: str, page_size: int = 50
) -> AsyncIterator[Asset]:
    """Every asset, following ``nextPageToken`` until the last page."""
    token = ""
    seen: set[str] = set()
    while True:
        page = await list_assets(
            ctx=ctx, credential=credential, page_token=token, page_size=page_size
        )
        for asset in page.assets:
            yield asset
        if not page.next_page_token or page.next_page_token in seen:
            return
        seen.add(page.next_page_token)
        token = page.next_page_token


async def delete_asset(*, ctx: context.Context, credential: str, asset_id: str) -> None:
    """Delete one asset (200 or 204)."""
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=ctx.page("/files"))
    await ctx.transport.request(
        "DELETE", ctx.url(ASSET_METADATA + asset_id), headers=headers, secrets=(credential,)
    )


def _asset(item: dict[str, Any]) -> Asset:
    size = item.get("sizeBytes", item.get("fileSize"))
    try:
        size_value = int(size) if size is not None else None
    except (TypeError, ValueError):
        size_value = None
    return Asset(
        asset_id=str(item.get("assetId") or item.get("id") or ""),
        name=str(item.get("name") or item.get("fileName") or ""),
        mime_type=str(item.get("mimeType") or item.get("contentType") or ""),
        key=str(item.get("key") or item.get("filePath") or ""),
        size=size_value,
        created_at=str(item.get("createTime") or item.get("createdAt") or ""),
    )
