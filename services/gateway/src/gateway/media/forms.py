"""Request bodies of the media endpoints: ``multipart/form-data`` (as OpenAI's SDKs send
files) or JSON, parsed from the bytes ``bodies.read`` already holds within its bounds, and
the image types recognised by their first bytes.

The multipart parser keeps every part in memory: the body is already there, bounded by
``server.max_body_bytes``, so spooling files to disk (as starlette's form parser does)
would only copy it again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header

from .. import errors

MAX_PARTS = 64


@dataclasses.dataclass(frozen=True, kw_only=True)
class FilePart:
    """An uploaded file: its form field, its file name and declared type, its bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Form:
    """The fields of a request in order of arrival: text values and files by name."""

    values: dict[str, list[Any]]
    files: dict[str, list[FilePart]]

    def value(self, name: str) -> Any:
        """The last value sent under ``name`` (JSON: the value itself), or None."""
        values = self.values.get(name)
        return values[-1] if values else None

    def files_of(self, *names: str) -> list[FilePart]:
        return [part for name in names for part in self.files.get(name, ())]

    def sent(self, name: str) -> bool:
        return name in self.values or name in self.files


def parse(body: bytes, content_type: str, *, json_ok: bool) -> Form:
    """The fields of a multipart body, or of a JSON object when ``json_ok``."""
    mime, options = parse_options_header(content_type)
    if mime == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise errors.InvalidRequest("multipart/form-data without a boundary")
        return _multipart(body, boundary)
    if json_ok and (mime in (b"", b"application/json") or mime.endswith(b"+json")):
        return _json(body)
    expected = "multipart/form-data or application/json" if json_ok else "multipart/form-data"
    raise errors.InvalidRequest(
        f"Unsupported Content-Type {content_type or 'none'!r}: send {expected}.",
        code="unsupported_media_type",
    )


def _json(body: bytes) -> Form:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequest("request body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise errors.InvalidRequest("request body must be a JSON object")
    return Form(values={str(key): [value] for key, value in data.items()}, files={})


class _Collector:
    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self.ended = False
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._data = bytearray()

    def on_part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise errors.InvalidRequest(f"a form of more than {MAX_PARTS} parts")
        self._headers = {}
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def on_part_end(self) -> None:
        self.parts.append((self._headers, self._data))

    def on_end(self) -> None:
        self.ended = True


def _multipart(body: bytes, boundary: bytes) -> Form:
    collector = _Collector()
    callbacks: Any = {
        name: getattr(collector, name)
        for name in ("on_part_begin", "on_header_field", "on_header_value", "on_header_end",
                     "on_part_data", "on_part_end", "on_end")
    }  # fmt: skip
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError) as exc:
        raise errors.InvalidRequest(f"malformed multipart/form-data body: {exc}") from None
    if not collector.ended:
        raise errors.InvalidRequest("malformed multipart/form-data body: it ends early")
    values: dict[str, list[Any]] = {}
    files: dict[str, list[FilePart]] = {}
    for headers, data in collector.parts:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            continue
        filename = disposition.get(b"filename")
        if filename is None:
            try:
                values.setdefault(name, []).append(bytes(data).decode("utf-8"))
            except UnicodeDecodeError:
                raise errors.InvalidRequest(f"{name} is not UTF-8 text", param=name) from None
            continue
        declared, _ = parse_options_header(headers.get(b"content-type", b""))
        files.setdefault(name, []).append(
            FilePart(
                field=name,
                filename=filename.decode("utf-8", "replace"),
                content_type=declared.decode("latin-1"),
                data=bytes(data),
            )
        )
    return Form(values=values, files=files)


def sniff_image(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg`` or ``image/webp`` from the magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
