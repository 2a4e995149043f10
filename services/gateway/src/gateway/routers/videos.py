"""OpenAI's Videos API: ``POST /v1/videos`` (multipart/form-data as the SDK sends it, or
JSON), ``GET /v1/videos``, ``GET``/``DELETE /v1/videos/{id}`` and
``GET /v1/videos/{id}/content?variant=video|thumbnail`` (served as ``/v1/files`` serves
files: ranges, validators)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import deps, errors
from ..media import params, reading, service, videos
from . import files

router = APIRouter(prefix="/v1/videos", dependencies=[deps.Authenticated])

VARIANTS = ("video", "thumbnail")


@router.post("")
async def create(request: Request, services: deps.ServicesDep) -> Response:
    media = service.ready(services.media)
    form = await reading.form(request, media, json_ok=True)
    parsed = params.video_create(
        form, max_bytes=media.settings.current.chat.attachment_max_bytes
    )
    return errors.json_response(200, await videos.create(media, parsed))


@router.get("")
async def list_videos(
    services: deps.ServicesDep,
    after: str | None = None,
    limit: str | None = None,
    order: str | None = None,
) -> Response:
    media = service.ready(services.media)
    page = await videos.listing(
        media,
        after=after or None,
        limit=params.integer(limit, param="limit", low=1, high=videos.MAX_PAGE, default=20),
        order=params.choice(order, param="order", options=("asc", "desc"), default="desc"),
    )
    return errors.json_response(200, page)


@router.get("/{video_id}")
async def retrieve(video_id: str, services: deps.ServicesDep) -> Response:
    record = await videos.record_of(service.ready(services.media), video_id)
    return errors.json_response(200, videos.video_object(record))


@router.delete("/{video_id}")
async def delete(video_id: str, services: deps.ServicesDep) -> Response:
    return errors.json_response(200, await videos.delete(service.ready(services.media), video_id))


@router.get("/{video_id}/content")
async def content(
    video_id: str, request: Request, services: deps.ServicesDep, variant: str | None = None
) -> Response:
    if variant == "spritesheet":
        raise errors.InvalidRequest(
            "variant 'spritesheet' is not available: use video or thumbnail.", param="variant"
        )
    chosen = params.choice(variant, param="variant", options=VARIANTS, default="video")
    file = await videos.content_file(service.ready(services.media), video_id, variant=chosen)
    return await files.get_file(file.kind, file.id, request, services)
