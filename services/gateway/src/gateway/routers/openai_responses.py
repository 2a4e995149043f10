"""OpenAI's Responses API: ``POST /v1/responses``, ``GET``/``DELETE /v1/responses/{id}``,
``GET /v1/responses/{id}/input_items`` and ``POST /v1/responses/{id}/cancel``.

Same keys, limits, usage records (endpoint ``/v1/responses``) and error shape as chat;
the work is ``responses_api.service``'s."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import bodies, deps, errors
from ..responses_api import service

router = APIRouter(prefix=service.PATH, dependencies=[deps.Authenticated])


def _service(services: deps.AppServices) -> service.ResponsesService:
    if services.responses is None:
        raise errors.StoreUnavailable("this gateway serves no Responses API")
    return services.responses


@router.post("")
async def create(request: Request, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    limits = bodies.Limits.from_settings(services.chat.settings.current.server)
    raw = await bodies.read(scope=request.scope, receive=request.receive, limits=limits)
    return await _service(services).create(raw, caller=caller)


@router.get("/{response_id}")
async def retrieve(
    response_id: str, services: deps.ServicesDep, caller: deps.CallerDep
) -> Response:
    found = await _service(services).get(response_id, caller=caller)
    return errors.json_response(200, found.response)


@router.delete("/{response_id}")
async def delete(response_id: str, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    return errors.json_response(200, await _service(services).delete(response_id, caller=caller))


@router.post("/{response_id}/cancel")
async def cancel(response_id: str, services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    return errors.json_response(200, await _service(services).cancel(response_id, caller=caller))


@router.get("/{response_id}/input_items")
async def input_items(
    response_id: str,
    services: deps.ServicesDep,
    caller: deps.CallerDep,
    order: str = "desc",
    limit: int = 20,
    after: str | None = None,
) -> Response:
    found = await _service(services).get(response_id, caller=caller)
    items = list(found.input_items)
    if order not in ("asc", "desc"):
        raise errors.InvalidRequest("order must be asc or desc", param="order")
    if order == "desc":
        items.reverse()
    ids = [item["id"] for item in items]
    if after is not None:
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[: max(1, min(limit, 100))]
    return errors.json_response(
        200,
        {
            "object": "list",
            "data": page,
            "has_more": len(items) > len(page),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        },
    )
