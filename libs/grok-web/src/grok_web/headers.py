"""Request headers per protocol §2.2 (Python ``build_headers``) and §2.1 cookies.

Header dictionaries are built per request; the parts that depend only on the
options (client hints, static values) are computed once in :class:`HeaderFactory`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from grok_web import options as options_mod
from grok_web import statsig

BAGGAGE = (
    "sentry-environment=production,"
    "sentry-release=d6add6fb0460641fd482d767a335ef72b9b6abb8,"
    "sentry-public_key=b311e0f2690c81f25e2c4cf6d4f7ce1c"
)
ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"
ACCEPT_ENCODING = "gzip, deflate, br, zstd"
ACCEPT_DOCUMENT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
GRPC_WEB_CONTENT_TYPE = "application/grpc-web+proto"

_BRANDS = (("edge", "Microsoft Edge"), ("brave", "Brave"), ("chrome", "Google Chrome"))
_MAJOR = re.compile(r"(?:Chrome|Edg)/(\d+)")


def sso_cookie(credential: str, *, cf_clearance: str = "", clearance: str = "") -> str:
    """``sso=<t>; sso-rw=<t>`` (a leading ``sso=`` in the stored token is stripped),
    plus ``cf_clearance`` when configured and the egress's ``clearance`` cookies
    ("name=value; name=value", :meth:`options.Egress.clearance`)."""
    token = credential.strip()
    if token.startswith("sso="):
        token = token[4:]
    cookie = f"sso={token}; sso-rw={token}"
    if cf_clearance:
        cookie += f"; cf_clearance={cf_clearance}"
    if clearance:
        cookie += f"; {clearance}"
    return cookie


def client_hints(*, user_agent: str, browser: str) -> dict[str, str]:
    """Sec-Ch-Ua* headers consistent with the user agent and impersonation target."""
    name = browser.lower()
    brand = next((label for key, label in _BRANDS if name.startswith(key)), "Chromium")
    match = _MAJOR.search(user_agent)
    major = match.group(1) if match else (re.sub(r"\D", "", name) or "136")
    ua = user_agent.lower()
    if "windows" in ua:
        platform = "Windows"
    elif "android" in ua:
        platform = "Android"
    elif "mac os" in ua or "macintosh" in ua:
        platform = "macOS"
    else:
        platform = "Linux"
    arch = "arm" if ("arm" in ua or "aarch64" in ua) else "x86"
    mobile = "?1" if ("mobile" in ua or platform == "Android") else "?0"
    brands = [f'"{brand}";v="{major}"']
    if brand != "Chromium":
        brands.append(f'"Chromium";v="{major}"')
    brands.append('"Not(A:Brand";v="24"')
    return {
        "Sec-Ch-Ua": ", ".join(brands),
        "Sec-Ch-Ua-Mobile": mobile,
        "Sec-Ch-Ua-Platform": f'"{platform}"',
        "Sec-Ch-Ua-Arch": f'"{arch}"',
        "Sec-Ch-Ua-Bitness": '"64"',
        "Sec-Ch-Ua-Model": '""',
    }


def fetch_site(origin: str, referer: str) -> str:
    """``same-origin`` when Origin and Referer share a host, else ``same-site``."""
    return "same-origin" if urlsplit(origin).netloc == urlsplit(referer).netloc else "same-site"


class HeaderFactory:
    """Builds the per-request header sets from fixed options."""

    def __init__(self, *, options: options_mod.ClientOptions):
        egress = options.egress
        self._clearance = egress.clearance()
        self._dynamic = options.chat.dynamic_statsig
        self._base: dict[str, str] = {
            "Accept-Encoding": ACCEPT_ENCODING,
            "Accept-Language": ACCEPT_LANGUAGE,
            "Baggage": BAGGAGE,
            "Priority": "u=1, i",
            "Sec-Fetch-Mode": "cors",
            "User-Agent": egress.user_agent,
            **client_hints(user_agent=egress.user_agent, browser=egress.browser),
        }
        self._ws: dict[str, str] = {
            "User-Agent": egress.user_agent,
            "Accept-Language": ACCEPT_LANGUAGE,
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            **client_hints(user_agent=egress.user_agent, browser=egress.browser),
        }

    def json(
        self,
        *,
        credential: str,
        origin: str,
        referer: str,
        content_type: str = "application/json",
        with_statsig: bool = True,
    ) -> dict[str, str]:
        """The JSON/REST header set (Accept */*, Sec-Fetch-Dest empty)."""
        headers = dict(self._base)
        headers["Accept"] = "*/*"
        headers["Content-Type"] = content_type
        headers["Origin"] = origin
        headers["Referer"] = referer
        headers["Sec-Fetch-Dest"] = "empty"
        headers["Sec-Fetch-Site"] = fetch_site(origin, referer)
        headers["Cookie"] = sso_cookie(credential, clearance=self._clearance)
        headers["x-xai-request-id"] = request_uuid()
        if with_statsig:
            headers["x-statsig-id"] = statsig.statsig_id(dynamic=self._dynamic)
        return headers

    def multipart_upload(self, *, credential: str, origin: str, referer: str) -> dict[str, str]:
        """Upload v2 headers (§9.2): the JSON set without statsig, ``x-xai-request-id`` and
        Content-Type (curl writes ``multipart/form-data; boundary=…`` itself)."""
        headers = self.json(
            credential=credential, origin=origin, referer=referer, with_statsig=False
        )
        del headers["x-xai-request-id"], headers["Content-Type"]
        return headers

    def grpc_web(self, *, credential: str, origin: str, referer: str) -> dict[str, str]:
        """gRPC-web header set (§14.1)."""
        headers = self.json(
            credential=credential,
            origin=origin,
            referer=referer,
            content_type=GRPC_WEB_CONTENT_TYPE,
        )
        headers["x-grpc-web"] = "1"
        headers["x-user-agent"] = "connect-es/2.1.1"
        headers["Cache-Control"] = "no-cache"
        headers["Pragma"] = "no-cache"
        return headers

    def download(self, *, credential: str, url: str, referer: str) -> dict[str, str]:
        """Navigation-style headers for asset downloads (§10.1)."""
        parts = urlsplit(url)
        headers = self.json(
            credential=credential,
            origin=f"{parts.scheme}://{parts.netloc}",
            referer=referer,
            content_type=guess_media_type(parts.path),
            with_statsig=False,
        )
        headers.pop("x-xai-request-id", None)
        headers.update(
            {
                "Accept": ACCEPT_DOCUMENT,
                "Cache-Control": "no-cache",
                "Pragma": "no-cache",
                "Priority": "u=0, i",
                "Sec-Fetch-Dest": "document",
                "Sec-Fetch-Mode": "navigate",
                "Sec-Fetch-User": "?1",
                "Upgrade-Insecure-Requests": "1",
            }
        )
        return headers

    def page(self) -> dict[str, str]:
        """A browser's navigation to a grok.com page without an account: the egress's user
        agent, client hints and clearance cookies only (testing an egress)."""
        headers = {k: v for k, v in self._base.items() if k != "Baggage"}
        headers.update({
            "Accept": ACCEPT_DOCUMENT, "Cache-Control": "no-cache", "Pragma": "no-cache",
            "Priority": "u=0, i", "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Site": "none", "Sec-Fetch-User": "?1", "Upgrade-Insecure-Requests": "1",
        })  # fmt: skip
        if self._clearance:
            headers["Cookie"] = self._clearance
        return headers

    def websocket(self, *, credential: str, origin: str) -> dict[str, str]:
        """Handshake headers for the Imagine WebSocket (§11.3; no statsig)."""
        headers = dict(self._ws)
        headers["Origin"] = origin
        headers["Cookie"] = sso_cookie(credential, clearance=self._clearance)
        return headers

    def mgw(self, *, credential: str, origin: str, user_id: str) -> dict[str, str]:
        """Handshake headers for the mgw chat WebSocket (§6.1): Origin, User-Agent,
        Accept-Language, Cache-Control, Pragma and the SSO + Cloudflare cookies with
        ``x-userid``; no client hints, no statsig."""
        return {
            "Origin": origin,
            "User-Agent": self._ws["User-Agent"],
            "Accept-Language": ACCEPT_LANGUAGE,
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Cookie": f"{sso_cookie(credential, clearance=self._clearance)}; x-userid={user_id}",
        }


def guess_media_type(path: str) -> str:
    """Content type from a file extension, as the Python downloader does."""
    lowered = path.lower()
    for suffix, media in (
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".webp", "image/webp"),
        (".mp4", "video/mp4"),
        (".webm", "video/webm"),
    ):
        if lowered.endswith(suffix):
            return media
    return "application/octet-stream"


def request_uuid() -> str:
    """A random version-4 UUID in its text form, as browsers send per request (one call per
    upstream request; ``uuid.uuid4`` spent most of its time validating its own bytes)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
