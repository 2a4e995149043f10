"""Images and files from chat messages → bytes → upstream attachment ids.

Sources: ``data:`` URIs, bare base64 (``file.file_data``) and ``http``/``https`` URLs.
Remote URLs are fetched with hard bounds (``Limits``, from ``chat.attachment_*``, no other
schemes, a bounded number of redirects) so a client cannot make the gateway download
without limit. Bytes are loaded once per request; the upload happens per attempt because
upstream file ids belong to the account that uploaded them.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import mimetypes
import urllib.parse
from collections.abc import Sequence

from curl_cffi import CurlError
from curl_cffi.requests import AsyncSession
from grok2api_settings.sections import ChatSettings

from .. import errors
from . import flatten

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 8


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    """Largest attachment accepted, inline or fetched (bytes), and the seconds one remote
    image download may take in total."""

    max_bytes: int
    fetch_timeout: float

    @classmethod
    def from_settings(cls, chat: ChatSettings) -> Limits:
        return cls(max_bytes=chat.attachment_max_bytes, fetch_timeout=chat.attachment_fetch_timeout)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Payload:
    name: str
    mime: str
    data: bytes = dataclasses.field(repr=False)


class Fetcher:
    """Bounded downloads of client-supplied http(s) URLs; one session per app."""

    def __init__(self) -> None:
        self._session: AsyncSession | None = None  # type: ignore[type-arg]

    async def fetch(self, url: str, *, param: str, limits: Limits) -> tuple[bytes, str]:
        session = self._session = self._session or AsyncSession(
            trust_env=False, max_redirects=3, allow_redirects=True
        )
        try:
            response = await session.request(
                "GET", url, stream=True, timeout=limits.fetch_timeout
            )
        except CurlError as exc:
            raise errors.InvalidRequest(f"could not fetch {param}", param=param) from exc
        try:
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
            return bytes(data), mime
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
    if len(text) > max_bytes * 4 // 3 + 4:
        raise errors.InvalidRequest(f"{param} is larger than {max_bytes} bytes", param=param)
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidRequest("invalid base64 data", param=param) from exc


def _default_mime(kind: str) -> str:
    return "image/png" if kind == "image" else "application/octet-stream"
