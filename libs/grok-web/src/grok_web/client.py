"""GrokClient: the one long-lived entry point to the Grok web upstream.

Build it once per process (``GrokClient(options=ClientOptions.from_settings(s))``),
share it between tasks, close it with :meth:`aclose` or ``async with``. Every call
takes the account's sso ``credential``; the client never stores credentials.
Streaming calls return async iterators; close them (``contextlib.aclosing``) or
cancel the consuming task to abort the upstream transfer at once. Every operation is
counted and timed in ``grok2api_upstream_*`` (:mod:`grok_web.metrics`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from types import TracebackType

from grok_web import account, assets, chat, context, imagine, media, metrics, mgw, session, uploads
from grok_web import events as ev
from grok_web import headers as headers_mod
from grok_web import options as options_mod
from grok_web import transport as transport_mod
from grok_web.chat import ChatRequest


class GrokClient:
    """Typed operations against grok.com; see each method's contract."""

    def __init__(
        self,
        *,
        options: options_mod.ClientOptions | None = None,
        transport: transport_mod.Transport | None = None,
    ) -> None:
        opts = options or options_mod.ClientOptions()
        self._user_ids = session.UserIdCache()
        self._retired: list[transport_mod.Transport] = []
        self._ctx = context.Context(
            options=opts,
            transport=transport or transport_mod.Transport(options=opts),
            headers=headers_mod.HeaderFactory(options=opts),
        )

    @property
    def options(self) -> options_mod.ClientOptions:
        """The options new calls use."""
        return self._ctx.options

    def reconfigure(self, *, options: options_mod.ClientOptions) -> None:
        """Use ``options`` for calls started from now on (live settings changes).

        Calls in flight keep the configuration they started with. When the egress or
        pool size changes, new calls get fresh sessions; the old ones are closed by
        :meth:`aclose`."""
        current = self._ctx
        transport = current.transport
        if (options.egress, options.limits) != (current.options.egress, current.options.limits):
            self._retired.append(transport)
            transport = transport_mod.Transport(options=options)
        else:
            transport.retune(options=options)
        self._ctx = context.Context(
            options=options,
            transport=transport,
            headers=headers_mod.HeaderFactory(options=options),
        )

    def __repr__(self) -> str:
        return f"GrokClient(base_url={self.options.endpoints.base_url!r})"

    async def __aenter__(self) -> GrokClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the upstream sessions (idempotent)."""
        retired, self._retired = self._retired, []
        for transport in [*retired, self._ctx.transport]:
            await transport.aclose()

    def chat(
        self, *, credential: str, request: chat.ChatRequest, user_id: str = ""
    ) -> AsyncIterator[ev.ChatEvent]:
        """Stream a chat turn; the last event is :class:`events.Final`. The generation
        spoken is ``options.chat_protocol``: REST app-chat or the mgw WebSocket.

        ``user_id`` is the account's grok.com user id when the caller has it stored (the
        mgw generation then makes no ``/api/auth/session`` call; REST ignores it). Without
        one, an mgw turn looks it up (cached an hour per credential, in this client only)
        and reports it on the first event, :attr:`events.ConversationStarted.user_id`, so
        the caller can store it."""
        ctx = self._ctx
        if ctx.options.chat_protocol == "mgw":
            turn = mgw.chat(ctx=ctx, credential=credential, request=request,
                            user_ids=self._user_ids, user_id=user_id)  # fmt: skip
        else:
            turn = chat.chat(ctx=ctx, credential=credential, request=request)
        return metrics.streamed("chat", turn)

    def chat_batches(
        self, *, credential: str, request: ChatRequest, user_id: str = ""
    ) -> AsyncIterator[list[ev.ChatEvent]]:
        """The same turn, a list of events per network read (REST) or per server event
        (mgw); cheaper to forward. ``user_id`` as for :meth:`chat`."""
        ctx = self._ctx
        if ctx.options.chat_protocol == "mgw":
            turn = mgw.chat_batches(ctx=ctx, credential=credential, request=request,
                                    user_ids=self._user_ids, user_id=user_id)  # fmt: skip
        else:
            turn = chat.chat_batches(ctx=ctx, credential=credential, request=request)
        return metrics.streamed("chat", turn)

    async def user_id(self, *, credential: str) -> str:
        """The account's user id (UUID) from ``/api/auth/session`` (§16), cached per
        credential for an hour (keyed by a hash of the credential)."""
        return await metrics.timed(
            "account", self._user_ids.get(ctx=self._ctx, credential=credential)
        )

    async def rate_limits(self, *, credential: str, mode: str) -> account.RateLimit:
        """Quota window of one mode (auto|fast|expert|heavy)."""
        return await metrics.timed(
            "usage", account.rate_limits(ctx=self._ctx, credential=credential, mode=mode)
        )

    async def usage(
        self, *, credential: str, modes: Iterable[str] | None = None
    ) -> account.AccountUsage:
        """Quota windows of several modes and the inferred tier."""
        return await metrics.timed(
            "usage", account.usage(ctx=self._ctx, credential=credential, modes=modes)
        )

    async def upload_file(
        self,
        *,
        credential: str,
        file_name: str,
        mime_type: str,
        content: bytes,
        purpose: uploads.Purpose = "chat",
    ) -> assets.UploadedFile:
        """Upload a chat attachment (``purpose="chat"``) or an image-edit / video reference
        (``"imagine"``), in the generation ``options.upload_protocol`` names."""
        return await metrics.timed("upload", uploads.upload_file(
            ctx=self._ctx,
            credential=credential,
            file_name=file_name,
            mime_type=mime_type,
            content=content,
            purpose=purpose,
        ))  # fmt: skip

    def download_asset(
        self, *, credential: str, path: str, max_bytes: int = assets.DEFAULT_MAX_DOWNLOAD_BYTES
    ) -> AsyncIterator[bytes]:
        """Stream an asset's bytes (relative path or absolute URL), capped at ``max_bytes``."""
        return metrics.streamed("asset", assets.download_asset(
            ctx=self._ctx, credential=credential, path=path, max_bytes=max_bytes
        ))  # fmt: skip

    def asset_url(self, path: str) -> str:
        """Absolute URL of an asset path."""
        return assets.asset_url(ctx=self._ctx, path=path)

    async def list_assets(
        self, *, credential: str, page_token: str = "", page_size: int = 50
    ) -> assets.AssetPage:
        """One page of assets."""
        return await metrics.timed("asset", assets.list_assets(
            ctx=self._ctx, credential=credential, page_token=page_token, page_size=page_size
        ))  # fmt: skip

    def iter_assets(self, *, credential: str, page_size: int = 50) -> AsyncIterator[assets.Asset]:
        """All assets across pages."""
        return metrics.streamed(
            "asset", assets.iter_assets(ctx=self._ctx, credential=credential, page_size=page_size)
        )

    async def delete_asset(self, *, credential: str, asset_id: str) -> None:
        """Delete one asset."""
        await metrics.timed(
            "asset", assets.delete_asset(ctx=self._ctx, credential=credential, asset_id=asset_id)
        )

    def imagine(
        self, *, credential: str, request: imagine.ImagineRequest
    ) -> AsyncIterator[ev.ImageProgress | ev.ImageFinal]:
        """Generate images over the Imagine WebSocket."""
        return metrics.streamed(
            "imagine", imagine.imagine(ctx=self._ctx, credential=credential, request=request)
        )

    async def create_media_post(
        self,
        *,
        credential: str,
        media_type: media.MediaType,
        prompt: str = "",
        media_url: str = "",
    ) -> str:
        """Create a media post (MEDIA_POST_TYPE_IMAGE|VIDEO); returns the post id."""
        return await metrics.timed("media", media.create_media_post(
            ctx=self._ctx,
            credential=credential,
            media_type=media_type,
            prompt=prompt,
            media_url=media_url,
        ))  # fmt: skip

    def edit_image(
        self, *, credential: str, request: media.ImageEditRequest
    ) -> AsyncIterator[ev.ChatEvent]:
        """Stream an image edit (media post or ``mediaGenInput``: ``options.media_protocol``)."""
        return metrics.streamed(
            "media", media.edit_image(ctx=self._ctx, credential=credential, request=request)
        )

    def generate_video(
        self, *, credential: str, request: media.VideoRequest
    ) -> AsyncIterator[ev.ChatEvent]:
        """Stream a video generation (media post or ``mediaGenInput``:
        ``options.media_protocol``; see :func:`media.generate_video`)."""
        return metrics.streamed(
            "media", media.generate_video(ctx=self._ctx, credential=credential, request=request)
        )

    async def upscale_video(self, *, credential: str, video_id: str) -> str:
        """HD URL of a generated video."""
        return await metrics.timed(
            "media", media.upscale_video(ctx=self._ctx, credential=credential, video_id=video_id)
        )

    async def create_share_link(self, *, credential: str, post_id: str) -> str:
        """Public share link of a post."""
        return await metrics.timed(
            "media", media.create_share_link(ctx=self._ctx, credential=credential, post_id=post_id)
        )

    async def accept_tos(self, *, credential: str) -> None:
        """Accept the terms of service (gRPC-web on accounts.x.ai)."""
        await metrics.timed("account", account.accept_tos(ctx=self._ctx, credential=credential))

    async def set_birth_date(
        self, *, credential: str, birth_date: dt.datetime | None = None
    ) -> bool:
        """Set the birth date; False when it was already set."""
        return await metrics.timed("account", account.set_birth_date(
            ctx=self._ctx, credential=credential, birth_date=birth_date
        ))  # fmt: skip

    async def set_nsfw(self, *, credential: str, enabled: bool) -> None:
        """Turn always_show_nsfw_content on or off (gRPC-web)."""
        await metrics.timed(
            "account", account.set_nsfw(ctx=self._ctx, credential=credential, enabled=enabled)
        )
