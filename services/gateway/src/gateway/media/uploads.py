"""Reference images (edits, a video's first frame) checked and stored as blob store uploads.

Wherever an image comes from (a multipart file, a chat message's ``image_url`` as a data
URI or an http(s) URL fetched by ``chat.attachments``) it must be a PNG, JPEG or WebP (told
by its bytes, not its name or declared type) of at most ``chat.attachment_max_bytes``.
Workers read uploads from the shared store by reference; uploads are never served.
"""

from __future__ import annotations

from collections.abc import Sequence

from grok2api_media.blobs import BlobStore
from grok2api_media.jobs import MediaFile

from ..chat import attachments, flatten
from . import forms, params
from .service import MediaService


async def store_parts(blobs: BlobStore, parts: Sequence[forms.FilePart]) -> tuple[MediaFile, ...]:
    """Files already checked by ``params`` (their type is sniffed again: cheap and certain)."""
    stored = []
    for part in parts:
        content_type = forms.sniff_image(part.data) or "application/octet-stream"
        stored.append(await blobs.put_bytes("upload", part.data, content_type=content_type))
    return tuple(stored)


async def store_refs(
    media: MediaService, refs: Sequence[flatten.AttachmentRef]
) -> tuple[MediaFile, ...]:
    """Images named by URL (data URI or http(s)), loaded within the chat attachment limits."""
    _, blobs = media.require()
    limits = attachments.Limits.from_settings(media.settings.current.chat)
    payloads = await attachments.load(refs, fetcher=media.fetcher, limits=limits)
    stored = []
    for ref, payload in zip(refs, payloads, strict=True):
        param = f"{ref.param}.image_url.url" if ref.param else "input_reference"
        content_type = params.check_image(payload.data, param=param, max_bytes=limits.max_bytes)
        stored.append(await blobs.put_bytes("upload", payload.data, content_type=content_type))
    return tuple(stored)
