"""gRPC-web framing (protocol §14.1) and the account-settings payloads (§14.2-14.4).

A frame is ``flag (1 byte) + length (uint32 big-endian) + payload``; flag ``0x00``
is data, bit ``0x80`` marks the trailer frame whose payload is ``key: value`` lines.
"""

from __future__ import annotations

import base64
import dataclasses
import struct
from collections.abc import Mapping
from urllib.parse import unquote

from grok_web import translate

TRAILER_FLAG = 0x80
COMPRESSED_FLAG = 0x01

TOS_PAYLOAD = b"\x10\x01"
NSFW_FEATURE = b"always_show_nsfw_content"


@dataclasses.dataclass(frozen=True, slots=True)
class GrpcReply:
    """Decoded gRPC-web answer: data frame payloads and the merged trailers.
    ``status`` is None when neither trailers nor headers carry grpc-status."""

    messages: tuple[bytes, ...]
    trailers: Mapping[str, str]
    status: int | None
    message: str


def frame(payload: bytes, *, flag: int = 0) -> bytes:
    """One gRPC-web frame."""
    return struct.pack(">BI", flag, len(payload)) + payload


def nsfw_payload(*, enabled: bool) -> bytes:
    """UpdateUserFeatureControls body: {1: {2: enabled}, 2: {1: "always_show_nsfw_content"}}."""
    name = b"\x0a" + bytes([len(NSFW_FEATURE)]) + NSFW_FEATURE
    return b"\x0a\x02\x10" + (b"\x01" if enabled else b"\x00") + b"\x12" + bytes([len(name)]) + name


def parse(body: bytes, *, headers: Mapping[str, str], content_type: str = "") -> GrpcReply:
    """Split a gRPC-web body into data frames and trailers; raises MalformedResponse
    on truncated or compressed frames. grpc-status in HTTP headers is honoured when
    no trailer frame carries it."""
    if "grpc-web-text" in content_type.lower():
        try:
            body = base64.b64decode(body)
        except ValueError as exc:
            raise translate.malformed("grpc-web-text body is not base64", exc=exc) from exc
    messages: list[bytes] = []
    trailers: dict[str, str] = {}
    offset = 0
    while offset < len(body):
        if len(body) - offset < 5:
            raise translate.malformed("truncated gRPC-web frame header")
        flag, length = struct.unpack_from(">BI", body, offset)
        offset += 5
        payload = body[offset : offset + length]
        if len(payload) != length:
            raise translate.malformed("truncated gRPC-web frame")
        offset += length
        if flag & COMPRESSED_FLAG:
            raise translate.malformed("compressed gRPC-web frames are not supported")
        if flag & TRAILER_FLAG:
            trailers.update(parse_trailer(payload))
        else:
            messages.append(payload)
    for key in ("grpc-status", "grpc-message"):
        if key not in trailers and headers.get(key) is not None:
            trailers[key] = str(headers[key])
    raw_status = trailers.get("grpc-status")
    try:
        status = int(raw_status) if raw_status is not None else None
    except ValueError as exc:
        raise translate.malformed("grpc-status is not a number", exc=exc) from exc
    return GrpcReply(tuple(messages), trailers, status, unquote(trailers.get("grpc-message", "")))


def parse_trailer(payload: bytes) -> dict[str, str]:
    """``key: value`` lines (CRLF or LF) → lower-cased dict."""
    result: dict[str, str] = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            result[key.strip().lower()] = value.strip()
    return result
