"""What every media handler needs, built once per worker."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from grok2api_media.blobs import BlobStore
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.user_ids import UserIdRecorder
from grok2api_settings import Settings
from grok_web import assets, chat, imagine, media, uploads
from grok_web.options import Egress


class GrokMedia(Protocol):
    """The part of ``grok_web.GrokClient`` the handlers use (tests may fake it)."""

    # ``egress``: the lease's (grok2api_poolclient.egress.grok_egress); None = settings

    def imagine(
        self, *, credential: str, request: imagine.ImagineRequest, egress: Egress | None = None
    ) -> AsyncIterator[Any]: ...

    def chat(
        self,
        *,
        credential: str,
        request: chat.ChatRequest,
        user_id: str = "",
        egress: Egress | None = None,
    ) -> AsyncIterator[Any]: ...

    def edit_image(
        self, *, credential: str, request: media.ImageEditRequest, egress: Egress | None = None
    ) -> AsyncIterator[Any]: ...

    def generate_video(
        self, *, credential: str, request: media.VideoRequest, egress: Egress | None = None
    ) -> AsyncIterator[Any]: ...

    async def upscale_video(
        self, *, credential: str, video_id: str, egress: Egress | None = None
    ) -> str: ...

    async def upload_file(
        self,
        *,
        credential: str,
        file_name: str,
        mime_type: str,
        content: bytes,
        purpose: uploads.Purpose = ...,
        egress: Egress | None = None,
    ) -> assets.UploadedFile: ...

    def download_asset(
        self, *, credential: str, path: str, max_bytes: int = ..., egress: Egress | None = None
    ) -> AsyncIterator[bytes]: ...

    def asset_url(self, path: str) -> str: ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class MediaContext:
    """``settings()`` returns the current settings (live in the single-process mode)."""

    settings: Callable[[], Settings]
    pool: PoolClient
    grok: GrokMedia
    blobs: BlobStore

    @functools.cached_property
    def user_ids(self) -> UserIdRecorder:
        """Stores, in the background, the user ids chat turns discovered (leases without)."""
        return UserIdRecorder(self.pool)
