"""``POST /v1/chat/completions``: parse, plan, hand the work to a watched response."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from grok2api_telemetry import context
from starlette.responses import Response

from .. import deps, responses
from ..chat import plan, request, service

log = logging.getLogger(__name__)

router = APIRouter()


# A plain route, authenticated inline: FastAPI's dependency solving cost about 15% of the
# gateway's own CPU per chat request in profiles, and this handler needs no injection.
async def create_chat_completion(http: Request) -> Response:
    await deps.require_client(http)
    body = request.parse(await http.body())
    chat = deps.services_of(http).chat
    plan_ = plan.plan(body=body, chat=chat.settings.current.chat)
    request_id = context.request_id.get()
    if request_id == "-":  # no request-id middleware in front (tests, embedding)
        request_id = plan_.completion_id
    if plan_.stream:
        events = service.stream(deps=chat, plan_=plan_, request_id=request_id)
        return responses.EventStream(events, keepalive=plan_.keepalive)
    return responses.DeferredJson(
        lambda: service.complete(deps=chat, plan_=plan_, request_id=request_id)
    )


router.add_route("/v1/chat/completions", create_chat_completion, methods=["POST"])
