"""OpenAI's Videos API: ``POST /v1/videos`` (multipart/form-data as the SDK sends it, or
JSON), ``GET /v1/videos``, ``GET``/``DELETE /v1/videos/{id}`` and
``GET /v1/videos/{id}/content?variant=video|thumbnail`` (served as ``/v1/files`` serves
files: ranges, validators)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from grok_web import catalogue
from starlette.responses import Response

from .. import deps, errors, responses
from ..access.meter import Meter
from ..media import params, reading, service, videos
from . import files

PATH = "/v1/videos"
router = APIRouter(prefix=PATH, dependencies=[deps.Authenticated])

VARIANTS = ("video", "thumbnail")


@router.post("")
async def create(request: Request, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    async def answer(meter: Meter) -> Response:
        media = service.ready(services.media)
        form = await reading.form(request, media, json_ok=True)
        parsed = params.video_create(
            form, max_bytes=media.settings.current.chat.attachment_max_bytes
        )
        await services.guard.admit(meter, model=parsed.model, cost=catalogue.get(parsed.model).cost)
        return errors.json_response(200, await videos.create(media, parsed, caller=caller))

    return await responses.metered(services.guard, caller, endpoint=PATH, answer=answer)


@router.get("")
async def list_videos(
    services: deps.ServicesDep,
    caller: deps.CallerDep,
    after: str | None = None,
    limit: str | None = None,
    order: str | None = None,
) -> Response:
    media = service.ready(services.media)
    page = await videos.listing(
        media,
        caller=caller,
        after=after or None,
        limit=params.integer(limit, param="limit", low=1, high=videos.MAX_PAGE, default=20),
        order=params.choice(order, param="order", options=("asc", "desc"), default="desc"),
    )
    return errors.json_response(200, page)


@router.get("/{video_id}")
async def retrieve(video_id: str, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    record = await videos.record_of(service.ready(services.media), video_id, caller=caller)
    return errors.json_response(200, videos.video_object(record))


@router.delete("/{video_id}")
async def delete(video_id: str, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    deleted = await videos.delete(service.ready(services.media), video_id, caller=caller)
    return errors.json_response(200, deleted)


@router.get("/{video_id}/content")
async def content(
    video_id: str,
    request: Request,
    services: deps.ServicesDep,
    caller: deps.CallerDep,
    variant: str | None = None,
) -> Response:
    if variant == "spritesheet":
        raise errors.InvalidRequest(
            "variant 'spritesheet' is not available: use video or thumbnail.", param="variant"
        )
    chosen = params.choice(variant, param="variant", options=VARIANTS, default="video")
    file = await videos.content_file(
        service.ready(services.media), video_id, variant=chosen, caller=caller
    )
    return await files.get_file(file.kind, file.id, request, services)
