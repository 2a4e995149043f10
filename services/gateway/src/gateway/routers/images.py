"""``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart/form-data):
read the body within its bounds, validate, hand the job's follow-up to a watched response."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import deps, responses
from ..media import images, params, reading, service
from ..media.service import MediaService

router = APIRouter(prefix="/v1/images", dependencies=[deps.Authenticated])


@router.post("/generations")
async def generations(request: Request, services: deps.ServicesDep) -> Response:
    media = service.ready(services.media)
    form = await reading.form(request, media, json_ok=True)
    settings = media.settings.current
    parsed = params.image_generation(form, image_format=settings.app.image_format)
    return _respond(media, parsed)


@router.post("/edits")
async def edits(request: Request, services: deps.ServicesDep) -> Response:
    media = service.ready(services.media)
    form = await reading.form(request, media, json_ok=False)
    settings = media.settings.current
    parsed = params.image_edit(
        form, image_format=settings.app.image_format,
        max_bytes=settings.chat.attachment_max_bytes,
    )  # fmt: skip
    return _respond(media, parsed)


def _respond(media: MediaService, parsed: params.ImageRequest) -> Response:
    if parsed.stream:
        keepalive = media.settings.current.chat.keepalive_seconds
        return responses.EventStream(images.stream(media, parsed), keepalive=keepalive)
    return responses.DeferredJson(lambda: images.respond_json(media, parsed))
