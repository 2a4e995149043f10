"""Generated media into the blob store: bytes the upstream sent inline, or a download from
the assets host with the owning account's cookie (asset URLs are not public, §10.1).

A download is retried a few times on answers that say "not yet" or "try again" (403 right
after generation, 429, 5xx), as the upstream's own clients do.
"""

from __future__ import annotations

import asyncio
import logging

from grok2api_media.jobs import BlobKind, MediaFile
from grok_web import errors as grok_errors
from grok_web import options as grok_options

from .context import MediaContext

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 0.75)
MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_VIDEO_BYTES = 256 * 1024 * 1024
_RETRIED = (
    grok_errors.Forbidden,
    grok_errors.RateLimited,
    grok_errors.UpstreamUnavailable,
    grok_errors.StreamIdleTimeout,
)


def sniff_image_type(data: bytes) -> str:
    """The content type of image bytes by their magic number (JPEG when unknown)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/jpeg"


def content_type_of(url: str, kind: BlobKind) -> str:
    path = url.split("?", 1)[0].lower()
    if kind == "video":
        return "video/webm" if path.endswith(".webm") else "video/mp4"
    for suffix, mime in ((".png", "image/png"), (".webp", "image/webp"), (".gif", "image/gif")):
        if path.endswith(suffix):
            return mime
    return "image/jpeg"


async def store_inline(
    ctx: MediaContext, data: bytes, *, width: int | None = None, height: int | None = None
) -> MediaFile:
    return await ctx.blobs.put_bytes(
        "image", data, content_type=sniff_image_type(data), width=width, height=height
    )


async def store_download(
    ctx: MediaContext,
    *,
    credential: str,
    url: str,
    kind: BlobKind,
    width: int | None = None,
    height: int | None = None,
    egress: grok_options.Egress | None = None,
) -> MediaFile:
    """Download ``url`` (relative asset path or absolute) into the blob store, through the
    lease's ``egress`` (None = the network settings)."""
    cap = MAX_VIDEO_BYTES if kind == "video" else MAX_IMAGE_BYTES
    for delay in (*RETRY_DELAYS, None):
        try:
            chunks = ctx.grok.download_asset(
                credential=credential, path=url, max_bytes=cap, egress=egress
            )
            return await ctx.blobs.put(
                kind, chunks, content_type=content_type_of(url, kind), width=width, height=height
            )
        except _RETRIED as exc:
            if delay is None:
                raise
            log.info(
                "asset_download_retry kind=%s egress=%s error=%s",
                kind, egress.label if egress is not None else "default", type(exc).__name__,
            )  # fmt: skip
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
