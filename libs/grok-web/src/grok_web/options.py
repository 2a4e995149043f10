"""Client configuration as frozen value objects, built once from the settings.

Network policy is split into small values (:class:`Timeouts`, :class:`Limits`,
:class:`Endpoints`, :class:`Egress`) so tests and callers can override one aspect
with :func:`dataclasses.replace` without touching the rest.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

from grok_web import trust

if TYPE_CHECKING:
    from grok2api_settings import Settings

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)

ChatProtocol = Literal["rest", "mgw"]
CHAT_PROTOCOLS: tuple[ChatProtocol, ...] = ("rest", "mgw")
UploadProtocol = Literal["v2", "json"]
MediaProtocol = Literal["media_gen_input", "media_post"]


@dataclasses.dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``request``: a whole non-streaming call and the connect phase of a
    stream (network.timeout). ``stream_idle``: longest silence inside a chat stream
    (timeout.stream_idle_timeout). ``video_idle``: same for video generation streams
    (timeout.video_idle_timeout). ``first_byte``: longest wait for a chat stream's first
    byte, headers included (timeout.first_byte_timeout)."""

    request: float = 120.0
    stream_idle: float = 120.0
    video_idle: float = 90.0
    first_byte: float = 30.0


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """``max_connections``: curl handles per upstream session, i.e. the cap on
    concurrent upstream connections per egress and kind (HTTP transfers, WebSockets;
    network.max_connections). ``max_error_body``: bytes of an error body read for
    classification."""

    max_connections: int = 2048
    max_error_body: int = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoints:
    """Upstream origins without trailing slash: grok.com, assets, accounts.x.ai."""

    base_url: str = "https://grok.com"
    assets_url: str = "https://assets.grok.com"
    accounts_url: str = "https://accounts.x.ai"


@dataclasses.dataclass(frozen=True, slots=True)
class Egress:
    """How requests leave the process: proxies ('' = direct), impersonation target,
    user agent and the Cloudflare clearance obtained through it. ``cf_clearance`` is the
    settings' single cookie value; ``clearance_cookies`` a pool egress's cookies as in a
    Cookie header ("cf_clearance=…; __cf_bm=…"). ``name`` is what logs and metric labels
    show ("" = "default"); proxies (maybe with credentials) and cookies never appear in
    reprs. Equal content = the same way out (the client keys its connections by it)."""

    base_proxy_url: str = dataclasses.field(default="", repr=False)
    asset_proxy_url: str = dataclasses.field(default="", repr=False)
    browser: str = "chrome136"
    user_agent: str = DEFAULT_USER_AGENT
    cf_clearance: str = dataclasses.field(default="", repr=False)
    egress_id: str = ""
    name: str = ""
    clearance_cookies: str = dataclasses.field(default="", repr=False)

    @property
    def label(self) -> str:
        """The name logs and metrics use: ``name``, else "default"."""
        return self.name or "default"

    def clearance(self) -> str:
        """The clearance part of a Cookie header: ``clearance_cookies`` plus
        ``cf_clearance=<cf_clearance>`` unless the cookies already carry one."""
        pairs = [p.strip() for p in self.clearance_cookies.split(";") if p.strip()]
        if self.cf_clearance and not any(p.startswith("cf_clearance=") for p in pairs):
            pairs.insert(0, f"cf_clearance={self.cf_clearance}")
        return "; ".join(pairs)


@dataclasses.dataclass(frozen=True, slots=True)
class ChatDefaults:
    """Body flags for app-chat (chat.temporary, chat.disable_memory) and whether the
    x-statsig-id is regenerated per request (chat.dynamic_statsig)."""

    temporary: bool = True
    disable_memory: bool = True
    dynamic_statsig: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class ImagineOptions:
    """Imagine WebSocket policy (image.*): a blob of at least ``final_min_bytes``
    characters is a final image, at least ``medium_min_bytes`` a medium preview; a
    slot that showed a medium preview but no final within ``blocked_seconds`` is
    reported as blocked. ``nsfw`` is the default enable_nsfw flag."""

    nsfw: bool = True
    blocked_seconds: float = 15.0
    final_min_bytes: int = 100_000
    medium_min_bytes: int = 30_000


@dataclasses.dataclass(frozen=True, slots=True)
class ClientOptions:
    """Everything a :class:`grok_web.client.GrokClient` needs; immutable.
    ``chat_protocol`` (network.chat_protocol) picks the chat generation: ``rest`` = REST
    app-chat (§3-4), ``mgw`` = the mgw WebSocket gateway (§6). ``upload_protocol``
    (network.upload_protocol): ``v2`` = multipart upload v2 (§9.2, August 2026), ``json`` =
    base64 JSON (§9.1, February 2026). ``media_protocol`` (network.media_protocol):
    ``media_gen_input`` = image edit and video through ``mediaGenInput`` (§12/§13.2 HEAD,
    August 2026), ``media_post`` = media post + ``modelMap`` (§12/§13.2 v2.x)."""

    endpoints: Endpoints = Endpoints()
    egress: Egress = Egress()
    timeouts: Timeouts = Timeouts()
    limits: Limits = Limits()
    chat: ChatDefaults = ChatDefaults()
    imagine: ImagineOptions = ImagineOptions()
    chat_protocol: ChatProtocol = "mgw"
    upload_protocol: UploadProtocol = "v2"
    media_protocol: MediaProtocol = "media_gen_input"
    ca_bundle: str = ""
    """PEM file of the CAs upstream TLS trusts (every egress, WebSockets included);
    "" = curl_cffi's bundled certificates. From settings: :func:`trust.ca_bundle`."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientOptions:
        """Build options from a ``grok2api_settings.Settings`` (sections network,
        security, chat, timeout, image)."""
        net, sec, chat = settings.network, settings.security, settings.chat
        image, timeout = settings.image, settings.timeout
        return cls(
            endpoints=Endpoints(
                base_url=_origin(net.base_url),
                assets_url=_origin(net.assets_url),
                accounts_url=_origin(net.accounts_url),
            ),
            egress=Egress(
                base_proxy_url=_proxy(_reveal(net.base_proxy_url)),
                asset_proxy_url=_proxy(_reveal(net.asset_proxy_url)),
                browser=str(sec.browser) or "chrome136",
                user_agent=str(sec.user_agent) or DEFAULT_USER_AGENT,
                cf_clearance=_reveal(sec.cf_clearance),
            ),
            timeouts=Timeouts(
                request=float(net.timeout),
                stream_idle=float(timeout.stream_idle_timeout),
                video_idle=float(timeout.video_idle_timeout),
                first_byte=float(timeout.first_byte_timeout),
            ),
            limits=Limits(max_connections=int(net.max_connections)),
            chat=ChatDefaults(
                temporary=bool(chat.temporary),
                disable_memory=bool(chat.disable_memory),
                dynamic_statsig=bool(chat.dynamic_statsig),
            ),
            imagine=ImagineOptions(
                nsfw=bool(image.image_ws_nsfw),
                blocked_seconds=float(image.image_ws_blocked_seconds),
                final_min_bytes=int(image.image_ws_final_min_bytes),
                medium_min_bytes=int(image.image_ws_medium_min_bytes),
            ),
            chat_protocol=_chat_protocol(net.chat_protocol),
            upload_protocol="json" if str(net.upload_protocol) == "json" else "v2",
            media_protocol=(
                "media_post" if str(net.media_protocol) == "media_post" else "media_gen_input"
            ),
            ca_bundle=trust.ca_bundle(str(net.ca_bundle)),
        )


def _chat_protocol(value: Any) -> ChatProtocol:
    text = str(value).strip().lower()
    return "rest" if text == "rest" else "mgw"


def _reveal(value: Any) -> str:
    """Plain text of a str or pydantic SecretStr (None → '')."""
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter is not None else value)


def _origin(url: Any) -> str:
    return str(url).rstrip("/")


def egress(
    *,
    proxy_url: str = "",
    asset_proxy_url: str = "",
    browser: str = "",
    user_agent: str = "",
    clearance_cookies: str = "",
    egress_id: str = "",
    name: str = "",
) -> Egress:
    """An :class:`Egress` from a pool's description of one (empty browser / user agent =
    the defaults; SOCKS names resolved on the proxy side as for the settings)."""
    return Egress(
        base_proxy_url=_proxy(proxy_url),
        asset_proxy_url=_proxy(asset_proxy_url),
        browser=browser or "chrome136",
        user_agent=user_agent or DEFAULT_USER_AGENT,
        clearance_cookies=clearance_cookies.strip(),
        egress_id=egress_id,
        name=name,
    )


def _proxy(url: str) -> str:
    """SOCKS proxies resolve names on the proxy side (socks5→socks5h, socks4→socks4a)
    so DNS never leaks from the egress host."""
    url = url.strip()
    if url.startswith("socks5://"):
        return "socks5h://" + url[len("socks5://") :]
    if url.startswith("socks4://"):
        return "socks4a://" + url[len("socks4://") :]
    return url
