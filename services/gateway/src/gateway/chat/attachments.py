"""Images and files from chat messages → bytes → upstream attachment ids.

Sources: ``data:`` URIs, bare base64 (``file.file_data``) and ``http``/``https`` URLs.
Remote URLs are fetched with hard bounds (``Limits``, from ``chat.attachment_*``, no other
schemes, a bounded number of redirects) so a client cannot make the gateway download
without limit, and, unless ``chat.attachment_allow_private`` is on, only from public
addresses: every hop's host is resolved and vetted here, and curl connects to the vetted
address (a second DNS answer cannot swap in an internal one). Bytes are loaded once per
request; the upload happens per attempt because upstream file ids belong to the account
that uploaded them.
"""

from __future__ import annotations

import asyncio
import binascii
import dataclasses
import ipaddress
import logging
import mimetypes
import re
import socket
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence

import pybase64
from curl_cffi import CurlError, CurlOpt
from curl_cffi.requests import AsyncSession, Response
from grok2api_settings.sections import ChatSettings

from .. import errors
from . import flatten

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 8
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)

# host, port -> the addresses it resolves to (a parameter, as is the address policy, so
# tests can stand in for DNS and for the public internet)
Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    """Largest attachment accepted, inline or fetched (bytes), and the seconds one remote
    image download may take in total."""

    max_bytes: int
    fetch_timeout: float
    allow_private: bool = False

    @classmethod
    def from_settings(cls, chat: ChatSettings) -> Limits:
        return cls(
            max_bytes=chat.attachment_max_bytes,
            fetch_timeout=chat.attachment_fetch_timeout,
            allow_private=chat.attachment_allow_private,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Payload:
    name: str
    mime: str
    data: bytes = dataclasses.field(repr=False)


class Fetcher:
    """Bounded downloads of client-supplied http(s) URLs; one session per app."""

    def __init__(
        self, *, resolve: Resolver | None = None, is_public: Callable[[str], bool] | None = None
    ) -> None:
        self._session: AsyncSession[Response] | None = None
        self._resolve = resolve or _resolve
        self._is_public = is_public or _public

    async def fetch(self, url: str, *, param: str, limits: Limits) -> tuple[bytes, str]:
        """The body and its media type; redirects are followed here, each hop vetted."""
        deadline = time.monotonic() + limits.fetch_timeout
        for _ in range(MAX_REDIRECTS + 1):
            pin = await self._vet(url, param=param, limits=limits)
            location, answer = await self._get(url, pin, param=param, limits=limits,
                                               deadline=deadline)  # fmt: skip
            if answer is not None:
                return answer
            url = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
                raise errors.InvalidRequest(f"{param} redirects off http(s)", param=param)
        raise errors.InvalidRequest(f"{param} redirects more than {MAX_REDIRECTS} times",
                                    param=param)  # fmt: skip

    async def _vet(self, url: str, *, param: str, limits: Limits) -> str | None:
        """curl's ``RESOLVE`` entry pinning the URL's host to a vetted address (None when
        any address is allowed)."""
        if limits.allow_private:
            return None
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            addresses = await self._resolve(host, port)
        except (OSError, ValueError) as exc:
            raise errors.InvalidRequest(f"cannot resolve the host of {param}",
                                        param=param) from exc  # fmt: skip
        if not addresses or not all(self._is_public(address) for address in addresses):
            raise errors.InvalidRequest(
                f"{param} points to a private or local address; fetching those is off "
                "(chat.attachment_allow_private)",
                param=param,
            )
        if _is_ip_literal(host):
            return None  # nothing to resolve again: the vetted address is the URL's own
        address = addresses[0]
        return f"{host}:{port}:{'[' + address + ']' if ':' in address else address}"

    async def _get(
        self, url: str, pin: str | None, *, param: str, limits: Limits, deadline: float
    ) -> tuple[str, tuple[bytes, str] | None]:
        """(redirect location, None) or ("", (body, media type))."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise errors.InvalidRequest(f"fetching {param} took too long", param=param)
        if pin is None:
            self._session = self._session or AsyncSession(trust_env=False)
            return await self._read(self._session, url, param=param, limits=limits, left=left)
        # A pin lives in the session's DNS cache: a session of its own keeps it to this hop.
        pinned: AsyncSession[Response] = AsyncSession(
            trust_env=False, curl_options={CurlOpt.RESOLVE: [pin]}
        )
        try:
            return await self._read(pinned, url, param=param, limits=limits, left=left)
        finally:
            await pinned.close()

    async def _read(
        self, session: AsyncSession[Response], url: str, *, param: str, limits: Limits,
        left: float,
    ) -> tuple[str, tuple[bytes, str] | None]:
        try:
            response = await session.request(
                "GET", url, stream=True, timeout=left, allow_redirects=False
            )
        except CurlError as exc:
            raise errors.InvalidRequest(f"could not fetch {param}", param=param) from exc
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                return location, None
            if not 200 <= response.status_code < 300:
                raise errors.InvalidRequest(
                    f"fetching {param} returned HTTP {response.status_code}", param=param
                )
            declared = int(response.headers.get("content-length") or 0)
            if declared > limits.max_bytes:
                raise errors.InvalidRequest(
                    f"{param} is larger than {limits.max_bytes} bytes", param=param
                )
            data = bytearray()
            async for chunk in response.aiter_content():
                data += chunk
                if len(data) > limits.max_bytes:
                    raise errors.InvalidRequest(
                        f"{param} is larger than {limits.max_bytes} bytes", param=param
                    )
            mime = (response.headers.get("content-type") or "").split(";")[0].strip()
            return "", (bytes(data), mime)
        except CurlError as exc:
            raise errors.InvalidRequest(f"could not fetch {param}", param=param) from exc
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def load(
    refs: Sequence[flatten.AttachmentRef], *, fetcher: Fetcher, limits: Limits
) -> list[Payload]:
    if len(refs) > MAX_ATTACHMENTS:
        raise errors.InvalidRequest(
            f"at most {MAX_ATTACHMENTS} attachments per request", param="messages"
        )
    return [await _load_one(ref, fetcher=fetcher, limits=limits) for ref in refs]


async def _load_one(
    ref: flatten.AttachmentRef, *, fetcher: Fetcher, limits: Limits
) -> Payload:
    param = f"{ref.param}.image_url.url" if ref.kind == "image" else f"{ref.param}.file.file_data"
    source = ref.source.strip()
    if source.startswith("data:"):
        mime, data = _data_uri(source, param=param, max_bytes=limits.max_bytes)
    elif ref.kind == "image":
        scheme = urllib.parse.urlsplit(source).scheme.lower()
        if scheme not in ("http", "https"):
            raise errors.InvalidRequest("image URLs must be http(s) or data URIs", param=param)
        data, mime = await fetcher.fetch(source, param=param, limits=limits)
    else:
        mime, data = "", _b64(source, param=param, max_bytes=limits.max_bytes)
    mime = mime or mimetypes.guess_type(ref.filename)[0] or _default_mime(ref.kind)
    name = ref.filename or f"{ref.kind}{mimetypes.guess_extension(mime) or '.bin'}"
    return Payload(name=name, mime=mime, data=data)


def _data_uri(uri: str, *, param: str, max_bytes: int) -> tuple[str, bytes]:
    header, sep, payload = uri.partition(",")
    if not sep or ";base64" not in header:
        raise errors.InvalidRequest("data URIs must be base64 encoded", param=param)
    mime = header[len("data:") :].split(";")[0]
    return mime, _b64(payload, param=param, max_bytes=max_bytes)


def _b64(text: str, *, param: str, max_bytes: int) -> bytes:
    """Strict base64 (standard alphabet), as RFC 2397 data URIs carry it. Tolerated, as real
    clients send them and they leave no doubt about the bytes: line breaks and spaces (the
    ``base64`` tool wraps its output) and missing ``=`` padding. Anything else is a 400: a
    lenient decoder silently drops what it does not know and uploads other bytes."""
    encoded_max = -(-max_bytes // 3) * 4
    if len(text) > encoded_max:
        text = "".join(text.split())
        if len(text) > encoded_max:
            raise errors.InvalidRequest(f"{param} is larger than {max_bytes} bytes", param=param)
    try:
        data = pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        data = _tolerant_b64(text, param=param)
    if not data:
        raise errors.InvalidRequest(f"{param} has no data (empty base64)", param=param)
    if len(data) > max_bytes:
        raise errors.InvalidRequest(f"{param} is larger than {max_bytes} bytes", param=param)
    return data


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")


def _tolerant_b64(text: str, *, param: str) -> bytes:
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4 if len(compact) % 4 != 1 else 0)
    try:
        return pybase64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        bad = _NOT_BASE64.search(compact)
        if bad is None:
            reason = "its length or '=' padding is wrong (truncated?)"
        elif bad.group() in "-_":
            reason = f"it contains {bad.group()!r}: URL-safe base64 is not accepted, use + and /"
        else:
            reason = f"it contains {bad.group()!r}, which is not a base64 character"
        raise errors.InvalidRequest(f"{param} is not valid base64: {reason}",
                                    param=param) from exc  # fmt: skip


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _default_mime(kind: str) -> str:
    return "image/png" if kind == "image" else "application/octet-stream"
