"""``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart/form-data):
read the body within its bounds, validate, hand the job's follow-up to a watched response."""

from __future__ import annotations

from fastapi import APIRouter, Request
from grok_web import catalogue
from starlette.responses import Response

from .. import deps, responses
from ..access.meter import Meter
from ..media import images, params, reading, service
from ..media.service import MediaService

router = APIRouter(prefix="/v1/images")
GENERATIONS, EDITS = "/v1/images/generations", "/v1/images/edits"


@router.post("/generations")
async def generations(
    request: Request, services: deps.ServicesDep, caller: deps.CallerDep
) -> Response:
    async def answer(meter: Meter) -> Response:
        media = service.ready(services.media)
        form = await reading.form(request, media, json_ok=True)
        settings = media.settings.current
        parsed = params.image_generation(form, image_format=settings.app.image_format)
        return await _respond(services, meter, media, parsed)

    return await responses.metered(services.guard, caller, endpoint=GENERATIONS, answer=answer)


@router.post("/edits")
async def edits(request: Request, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    async def answer(meter: Meter) -> Response:
        media = service.ready(services.media)
        form = await reading.form(request, media, json_ok=False)
        settings = media.settings.current
        parsed = params.image_edit(
            form, image_format=settings.app.image_format,
            max_bytes=settings.chat.attachment_max_bytes,
        )  # fmt: skip
        return await _respond(services, meter, media, parsed)

    return await responses.metered(services.guard, caller, endpoint=EDITS, answer=answer)


async def _respond(
    services: deps.AppServices, meter: Meter, media: MediaService, parsed: params.ImageRequest
) -> Response:
    cost = catalogue.get(parsed.model).cost * parsed.n
    await services.guard.admit(meter, model=parsed.model, cost=cost)
    if parsed.stream:
        keepalive = media.settings.current.chat.keepalive_seconds
        return responses.EventStream(
            images.stream(media, parsed, caller=meter.caller), keepalive=keepalive
        )
    return responses.DeferredJson(lambda: images.respond_json(media, parsed, caller=meter.caller))
