"""Job results → what clients read: OpenAI image objects and stream events, chat content.

Files are linked as ``<app.app_url>/v1/files/<kind>/<id>`` (``blobs.file_url``) or inlined
as base64 read from the blob store. Image streams follow OpenAI's image streaming events
(``image_generation.partial_image`` / ``.completed``, ``image_edit.*`` for edits), each as
``event: <type>`` plus ``data: <json>``; progress goes out as SSE comments
(``: progress 40%``), which SDKs skip and curl shows.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import orjson
import pybase64
from grok2api_media import blobs as blob_store
from grok2api_media.blobs import BlobStore
from grok2api_media.jobs import MediaFile, VideoResult

from .. import errors

IMAGE_USAGE: dict[str, Any] = {
    "input_tokens": 0,
    "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
    "output_tokens": 0,
    "total_tokens": 0,
}
"""Images cost no tokens upstream (Grok counts quota per image): zeros in OpenAI's shape."""

_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}


class MediaFileMissing(errors.ApiError):
    status = 502
    type = "api_error"
    code = "media_file_missing"


async def read(blobs: BlobStore, file: MediaFile) -> bytes:
    try:
        return await blobs.read_bytes(file)
    except blob_store.BlobNotFound:
        raise MediaFileMissing(
            f"A generated {file.kind} file is missing from the media store (cleaned up?); "
            "retry the request."
        ) from None


async def b64(blobs: BlobStore, file: MediaFile) -> str:
    """The file as base64 text (pybase64: a vectorised encoder, for images of a megabyte)."""
    return pybase64.b64encode(await read(blobs, file)).decode("ascii")


def url(app_url: str, file: MediaFile) -> str:
    return blob_store.file_url(app_url, file)


async def image_items(
    blobs: BlobStore, files: Sequence[MediaFile], *, response_format: str, app_url: str
) -> list[dict[str, Any]]:
    if response_format == "url":
        return [{"url": url(app_url, file)} for file in files]
    return [{"b64_json": await b64(blobs, file)} for file in files]


def images_body(*, created: int, items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"created": created, "data": items, "usage": IMAGE_USAGE})


def output_format(file: MediaFile) -> str:
    return _FORMATS.get(file.content_type, "jpeg")


def size_of(file: MediaFile, requested: str) -> str:
    if file.width and file.height:
        return f"{file.width}x{file.height}"
    return requested


def event(event_type: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def progress_comment(progress: int) -> bytes:
    return f": progress {progress}%\n\n".encode()


def stream_image(
    event_type: str, *, data_b64: str, file: MediaFile, requested_size: str, created: int,
    extra: dict[str, Any],
) -> bytes:
    """One ``*.partial_image`` or ``*.completed`` event."""
    body: dict[str, Any] = {
        "type": event_type,
        "b64_json": data_b64,
        "created_at": created,
        "size": size_of(file, requested_size),
        "quality": "auto",
        "background": "auto",
        "output_format": output_format(file),
        **extra,
    }
    return event(event_type, body)


async def image_markdown(
    blobs: BlobStore, files: Sequence[MediaFile], *, image_format: str, app_url: str
) -> str:
    """``![image](<url>)`` per image (``app.image_format`` url), or with a data URI (base64),
    one per line."""
    lines = []
    for file in files:
        if image_format == "base64":
            target = f"data:{file.content_type};base64,{await b64(blobs, file)}"
        else:
            target = url(app_url, file)
        lines.append(f"![image]({target})")
    return "\n".join(lines)


def video_content(result: VideoResult, *, video_format: str, app_url: str) -> str:
    """A ``<video>`` tag (``app.video_format`` html, with the thumbnail as poster) or the
    plain URL (url)."""
    link = url(app_url, result.video)
    if video_format == "url":
        return link
    poster = ""
    if result.thumbnail is not None:
        poster = f' poster="{html.escape(url(app_url, result.thumbnail))}"'
    return f'<video src="{html.escape(link)}"{poster} controls="controls"></video>'
