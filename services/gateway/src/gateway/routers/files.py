"""``GET``/``HEAD /v1/files/image/{id}`` and ``/v1/files/video/{id}``: media from the blob store.

Not authenticated, as the original project's ``/v1/files/...`` links were not: the links go
to browsers and chat front ends, and the id (192 random bits) is the capability. Files are
immutable, so answers are cacheable forever; ranges and validators as in ``file_serving``.
Uploads are never served. Any id that is not exactly a store id answers the same 404 as a
file that expired, before anything touches the filesystem.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from grok2api_media.blobs import BlobStore
from starlette.responses import Response

from .. import deps, errors, file_serving

router = APIRouter(prefix="/v1/files")

SERVED_KINDS = ("image", "video")


class FileNotFound(errors.ApiError):
    status = 404
    type = "invalid_request_error"
    code = "file_not_found"


class MediaStoreUnavailable(errors.ApiError):
    status = 503
    type = "api_error"
    code = "media_store_unavailable"


@router.head("/{kind}/{blob_id:path}", operation_id="head_file")
@router.get("/{kind}/{blob_id:path}", operation_id="get_file")
async def get_file(
    kind: str, blob_id: str, request: Request, services: deps.ServicesDep
) -> Response:
    store = _store(services)
    blob = await store.open(kind, blob_id) if kind in SERVED_KINDS else None
    if blob is None:
        raise _not_found(kind)
    headers = file_serving.headers_for(blob)
    if file_serving.not_modified(request.headers.get("if-none-match"), blob.etag):
        return Response(status_code=304, headers={
            "etag": blob.etag, "cache-control": headers["cache-control"],
        })
    span: tuple[int, int] | None = None
    if file_serving.range_applies(request.headers.get("if-range"), blob.etag):
        try:
            span = file_serving.parse_range(request.headers.get("range"), blob.size)
        except file_serving.RangeNotSatisfiable:
            response = errors.json_response(416, _body(
                f"The requested range is outside the file ({blob.size} bytes).",
                "range_not_satisfiable",
            ))
            response.headers["content-range"] = f"bytes */{blob.size}"
            return response
    start, end = span if span is not None else (0, blob.size)
    status = 200
    if span is not None:
        status = 206
        headers["content-range"] = f"bytes {start}-{end - 1}/{blob.size}"
    headers["content-length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    fd = await file_serving.open_file(blob)
    if fd is None:  # cleaned away since open()
        raise _not_found(kind)
    return file_serving.FileBody(
        fd, start=start, length=end - start, status_code=status, headers=headers
    )


def _store(services: deps.AppServices) -> BlobStore:
    if services.blobs is None:
        raise MediaStoreUnavailable(
            "This gateway has no media store configured, so it serves no files."
        )
    return services.blobs


def _not_found(kind: str) -> FileNotFound:
    what = f"{kind} file" if kind in SERVED_KINDS else "file"
    return FileNotFound(
        f"The {what} does not exist or has expired from the media cache."
    )


def _body(message: str, code: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None,
                      "code": code}}
