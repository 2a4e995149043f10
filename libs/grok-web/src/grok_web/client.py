"""GrokClient: the one long-lived entry point to the Grok web upstream.

Build it once per process (``GrokClient(options=ClientOptions.from_settings(s))``),
share it between tasks, close it with :meth:`aclose` or ``async with``. Every call
takes the account's sso ``credential``; the client never stores credentials. Every call
takes an optional ``egress`` (:class:`options.Egress`, e.g. a lease's): the call, its
uploads, asset downloads and WebSockets leave through it with its fingerprint, user agent
and clearance cookies, on connections of its own (:mod:`grok_web.routes`); None = the
egress of ``options`` (the network settings).
Streaming calls return async iterators; close them (``contextlib.aclosing``) or
cancel the consuming task to abort the upstream transfer at once. Every operation is
counted and timed in ``grok2api_upstream_*`` (:mod:`grok_web.metrics`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TypeVar

from grok_web import (
    account,
    assets,
    chat,
    context,
    home,
    imagine,
    media,
    metrics,
    mgw,
    session,
    uploads,
)
from grok_web import events as ev
from grok_web import headers as headers_mod
from grok_web import options as options_mod
from grok_web import routes as routes_mod
from grok_web import transport as transport_mod
from grok_web.chat import ChatRequest

T = TypeVar("T")
Egress = options_mod.Egress


class GrokClient:
    """Typed operations against grok.com; see each method's contract."""

    def __init__(
        self,
        *,
        options: options_mod.ClientOptions | None = None,
        transport: transport_mod.Transport | None = None,
        max_egresses: int = routes_mod.DEFAULT_CAPACITY,
    ) -> None:
        opts = options or options_mod.ClientOptions()
        self._user_ids = session.UserIdCache()
        self._retired: list[transport_mod.Transport] = []
        self._routes = routes_mod.Routes(capacity=max_egresses)
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

        Calls in flight keep the configuration they started with. When the egress, pool
        size or trust changes, new calls get fresh sessions; the old ones are closed by
        :meth:`aclose`. Per-egress connections are rebuilt on any change."""
        current = self._ctx
        transport = current.transport
        if options != current.options:
            self._routes.retire_all()
        if not transport_mod.same_handles(options, current.options):
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
        await self._routes.aclose()

    def _route(self, egress: Egress | None) -> tuple[context.Context, routes_mod.Route | None]:
        ctx = self._ctx
        if egress is None or egress == ctx.options.egress:
            return ctx, None
        route = self._routes.take(base=ctx.options, egress=egress)
        return route.ctx, route

    async def _timed(
        self,
        operation: str,
        egress: Egress | None,
        call: Callable[[context.Context], Awaitable[T]],
    ) -> T:
        ctx, route = self._route(egress)
        try:
            return await metrics.timed(operation, call(ctx), egress=ctx.options.egress.label)
        finally:
            if route is not None:
                self._routes.give_back(route)

    def _streamed(
        self,
        operation: str,
        egress: Egress | None,
        make: Callable[[context.Context], AsyncIterator[T]],
    ) -> AsyncIterator[T]:
        # A stream never iterated keeps its egress's connections open until aclose.
        ctx, route = self._route(egress)
        on_end = None if route is None else functools.partial(self._routes.give_back, route)
        return metrics.streamed(
            operation, make(ctx), egress=ctx.options.egress.label, on_end=on_end
        )

    def chat(
        self,
        *,
        credential: str,
        request: chat.ChatRequest,
        user_id: str = "",
        egress: Egress | None = None,
    ) -> AsyncIterator[ev.ChatEvent]:
        """Stream a chat turn; the last event is :class:`events.Final`. The generation
        spoken is ``options.chat_protocol``: REST app-chat or the mgw WebSocket.

        ``user_id`` is the account's grok.com user id when the caller has it stored (the
        mgw generation then makes no ``/api/auth/session`` call; REST ignores it). Without
        one, an mgw turn looks it up (cached an hour per credential, in this client only)
        and reports it on the first event, :attr:`events.ConversationStarted.user_id`, so
        the caller can store it."""

        def turn(ctx: context.Context) -> AsyncIterator[ev.ChatEvent]:
            if ctx.options.chat_protocol == "mgw":
                return mgw.chat(ctx=ctx, credential=credential, request=request,
                                user_ids=self._user_ids, user_id=user_id)  # fmt: skip
            return chat.chat(ctx=ctx, credential=credential, request=request)

        return self._streamed("chat", egress, turn)

    def chat_batches(
        self,
        *,
        credential: str,
        request: ChatRequest,
        user_id: str = "",
        egress: Egress | None = None,
    ) -> AsyncIterator[list[ev.ChatEvent]]:
        """The same turn, a list of events per network read (REST) or per server event
        (mgw); cheaper to forward. ``user_id`` as for :meth:`chat`."""

        def turn(ctx: context.Context) -> AsyncIterator[list[ev.ChatEvent]]:
            if ctx.options.chat_protocol == "mgw":
                return mgw.chat_batches(ctx=ctx, credential=credential, request=request,
                                        user_ids=self._user_ids, user_id=user_id)  # fmt: skip
            return chat.chat_batches(ctx=ctx, credential=credential, request=request)

        return self._streamed("chat", egress, turn)

    async def home_page(self, *, egress: Egress | None = None) -> int:
        """Fetch the home page as a browser would, without an account (testing an egress):
        the HTTP status; :class:`errors.CloudflareChallenge` when the front challenges."""
        return await self._timed("home", egress, lambda ctx: home.fetch(ctx=ctx))

    async def user_id(self, *, credential: str, egress: Egress | None = None) -> str:
        """The account's user id (UUID) from ``/api/auth/session`` (§16), cached per
        credential for an hour (keyed by a hash of the credential)."""
        return await self._timed(
            "account", egress, lambda ctx: self._user_ids.get(ctx=ctx, credential=credential)
        )

    async def rate_limits(
        self, *, credential: str, mode: str, egress: Egress | None = None
    ) -> account.RateLimit:
        """Quota window of one mode (auto|fast|expert|heavy)."""
        return await self._timed("usage", egress, lambda ctx: account.rate_limits(
            ctx=ctx, credential=credential, mode=mode
        ))  # fmt: skip

    async def usage(
        self,
        *,
        credential: str,
        modes: Iterable[str] | None = None,
        egress: Egress | None = None,
    ) -> account.AccountUsage:
        """Quota windows of several modes and the inferred tier."""
        return await self._timed(
            "usage", egress, lambda ctx: account.usage(ctx=ctx, credential=credential, modes=modes)
        )

    async def upload_file(
        self,
        *,
        credential: str,
        file_name: str,
        mime_type: str,
        content: bytes,
        purpose: uploads.Purpose = "chat",
        egress: Egress | None = None,
    ) -> assets.UploadedFile:
        """Upload a chat attachment (``purpose="chat"``) or an image-edit / video reference
        (``"imagine"``), in the generation ``options.upload_protocol`` names."""
        return await self._timed("upload", egress, lambda ctx: uploads.upload_file(
            ctx=ctx,
            credential=credential,
            file_name=file_name,
            mime_type=mime_type,
            content=content,
            purpose=purpose,
        ))  # fmt: skip

    def download_asset(
        self,
        *,
        credential: str,
        path: str,
        max_bytes: int = assets.DEFAULT_MAX_DOWNLOAD_BYTES,
        egress: Egress | None = None,
    ) -> AsyncIterator[bytes]:
        """Stream an asset's bytes (relative path or absolute URL), capped at ``max_bytes``;
        through the egress's asset proxy."""
        return self._streamed("asset", egress, lambda ctx: assets.download_asset(
            ctx=ctx, credential=credential, path=path, max_bytes=max_bytes
        ))  # fmt: skip

    def asset_url(self, path: str) -> str:
        """Absolute URL of an asset path."""
        return assets.asset_url(ctx=self._ctx, path=path)

    async def list_assets(
        self,
        *,
        credential: str,
        page_token: str = "",
        page_size: int = 50,
        egress: Egress | None = None,
    ) -> assets.AssetPage:
        """One page of assets."""
        return await self._timed("asset", egress, lambda ctx: assets.list_assets(
            ctx=ctx, credential=credential, page_token=page_token, page_size=page_size
        ))  # fmt: skip

    def iter_assets(
        self, *, credential: str, page_size: int = 50, egress: Egress | None = None
    ) -> AsyncIterator[assets.Asset]:
        """All assets across pages."""
        return self._streamed("asset", egress, lambda ctx: assets.iter_assets(
            ctx=ctx, credential=credential, page_size=page_size
        ))  # fmt: skip

    async def delete_asset(
        self, *, credential: str, asset_id: str, egress: Egress | None = None
    ) -> None:
        """Delete one asset."""
        await self._timed("asset", egress, lambda ctx: assets.delete_asset(
            ctx=ctx, credential=credential, asset_id=asset_id
        ))  # fmt: skip

    def imagine(
        self,
        *,
        credential: str,
        request: imagine.ImagineRequest,
        egress: Egress | None = None,
    ) -> AsyncIterator[ev.ImageProgress | ev.ImageFinal]:
        """Generate images over the Imagine WebSocket."""
        return self._streamed("imagine", egress, lambda ctx: imagine.imagine(
            ctx=ctx, credential=credential, request=request
        ))  # fmt: skip

    async def create_media_post(
        self,
        *,
        credential: str,
        media_type: media.MediaType,
        prompt: str = "",
        media_url: str = "",
        egress: Egress | None = None,
    ) -> str:
        """Create a media post (MEDIA_POST_TYPE_IMAGE|VIDEO); returns the post id."""
        return await self._timed("media", egress, lambda ctx: media.create_media_post(
            ctx=ctx,
            credential=credential,
            media_type=media_type,
            prompt=prompt,
            media_url=media_url,
        ))  # fmt: skip

    def edit_image(
        self,
        *,
        credential: str,
        request: media.ImageEditRequest,
        egress: Egress | None = None,
    ) -> AsyncIterator[ev.ChatEvent]:
        """Stream an image edit (media post or ``mediaGenInput``: ``options.media_protocol``)."""
        return self._streamed("media", egress, lambda ctx: media.edit_image(
            ctx=ctx, credential=credential, request=request
        ))  # fmt: skip

    def generate_video(
        self,
        *,
        credential: str,
        request: media.VideoRequest,
        egress: Egress | None = None,
    ) -> AsyncIterator[ev.ChatEvent]:
        """Stream a video generation (media post or ``mediaGenInput``:
        ``options.media_protocol``; see :func:`media.generate_video`)."""
        return self._streamed("media", egress, lambda ctx: media.generate_video(
            ctx=ctx, credential=credential, request=request
        ))  # fmt: skip

    async def upscale_video(
        self, *, credential: str, video_id: str, egress: Egress | None = None
    ) -> str:
        """HD URL of a generated video."""
        return await self._timed("media", egress, lambda ctx: media.upscale_video(
            ctx=ctx, credential=credential, video_id=video_id
        ))  # fmt: skip

    async def create_share_link(
        self, *, credential: str, post_id: str, egress: Egress | None = None
    ) -> str:
        """Public share link of a post."""
        return await self._timed("media", egress, lambda ctx: media.create_share_link(
            ctx=ctx, credential=credential, post_id=post_id
        ))  # fmt: skip

    async def accept_tos(self, *, credential: str, egress: Egress | None = None) -> None:
        """Accept the terms of service (gRPC-web on accounts.x.ai)."""
        await self._timed(
            "account", egress, lambda ctx: account.accept_tos(ctx=ctx, credential=credential)
        )

    async def set_birth_date(
        self,
        *,
        credential: str,
        birth_date: dt.datetime | None = None,
        egress: Egress | None = None,
    ) -> bool:
        """Set the birth date; False when it was already set."""
        return await self._timed("account", egress, lambda ctx: account.set_birth_date(
            ctx=ctx, credential=credential, birth_date=birth_date
        ))  # fmt: skip

    async def set_nsfw(
        self, *, credential: str, enabled: bool, egress: Egress | None = None
    ) -> None:
        """Turn always_show_nsfw_content on or off (gRPC-web)."""
        await self._timed("account", egress, lambda ctx: account.set_nsfw(
            ctx=ctx, credential=credential, enabled=enabled
        ))  # fmt: skip
