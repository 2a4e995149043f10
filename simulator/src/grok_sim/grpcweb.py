"""gRPC-web framing (grok-protocol.md §14.1): 5-byte frame headers, trailer frame 0x80."""

from __future__ import annotations

import struct
from urllib.parse import quote

DATA_FLAG = 0x00
TRAILER_FLAG = 0x80


class FramingError(ValueError):
    """A body that is not a sequence of uncompressed gRPC-web frames."""


def frame(payload: bytes, *, flag: int = DATA_FLAG) -> bytes:
    return struct.pack(">BI", flag, len(payload)) + payload


def trailer(*, status: int, message: str = "") -> bytes:
    text = f"grpc-status: {status}\r\n"
    if message:
        text += f"grpc-message: {quote(message)}\r\n"
    return frame(text.encode(), flag=TRAILER_FLAG)


def data_frames(body: bytes) -> list[bytes]:
    """Payloads of the data frames in a request body."""
    payloads = []
    offset = 0
    while offset < len(body):
        if len(body) - offset < 5:
            raise FramingError("truncated frame header")
        flag, length = struct.unpack(">BI", body[offset : offset + 5])
        if flag & 0x01:
            raise FramingError("compressed frames are not supported")
        end = offset + 5 + length
        if end > len(body):
            raise FramingError("frame longer than the body")
        if not flag & TRAILER_FLAG:
            payloads.append(body[offset + 5 : end])
        offset = end
    if not payloads:
        raise FramingError("no data frame")
    return payloads


def read_fields(payload: bytes) -> dict[int, list[object]]:
    """Top-level protobuf fields: varints as int, length-delimited as bytes."""
    fields: dict[int, list[object]] = {}
    offset = 0
    while offset < len(payload):
        key, offset = _varint(payload, offset)
        number, wire = key >> 3, key & 7
        value: object
        if wire == 0:
            value, offset = _varint(payload, offset)
        elif wire == 2:
            length, offset = _varint(payload, offset)
            value, offset = payload[offset : offset + length], offset + length
            if offset > len(payload):
                raise FramingError("length-delimited field past the end")
        elif wire == 5:
            value, offset = payload[offset : offset + 4], offset + 4
        elif wire == 1:
            value, offset = payload[offset : offset + 8], offset + 8
        else:
            raise FramingError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if offset >= len(data):
            raise FramingError("truncated varint")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7
