"""``POST /v1/chat/completions``: parse, plan, hand the work to a watched response (for an
image, image-edit or video model: to ``media.chat``, which answers with a media job).

A plain ASGI endpoint that ``app.GatewayApp`` calls ahead of FastAPI's middleware stack and
router: those layers wrap every write of a stream and cost about a tenth of the gateway's
CPU per chat call in profiles, and this handler needs none of them (no injection; it renders
its own errors through ``errors.payload_for``, the one rendering rule).
"""

from __future__ import annotations

from grok_web import catalogue
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import bodies, deps, errors, http_metrics, responses
from ..access.meter import Meter
from ..chat import plan, request, service
from ..media import chat as media_chat

PATH = "/v1/chat/completions"


class ChatCompletions:
    def __init__(self, services: deps.AppServices) -> None:
        self._services = services
        self._limits_of: object = None
        self._limits_now = bodies.Limits(max_bytes=0, timeout=0.0)

    def _limits(self) -> bodies.Limits:
        """The body limits of the current settings, rebuilt only when the settings change."""
        server = self._services.chat.settings.current.server
        if server is not self._limits_of:
            self._limits_of, self._limits_now = server, bodies.Limits.from_settings(server)
        return self._limits_now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.respond(Request(scope, receive))
        except errors.BodyRefused as exc:
            await bodies.refuse(exc, scope=scope, receive=receive, send=send, limits=self._limits())
            return
        except ClientDisconnect:
            return  # gone before its body was in: nobody to answer
        except Exception as exc:
            response = errors.error_response(exc)
        await response(scope, receive, send)

    async def respond(self, http: Request) -> Response:
        """The response for one request (also registered as the FastAPI route, so that
        other methods on the path get 405 and the route is listed)."""
        caller = await self._services.guard.authenticate(http.headers)
        return await responses.metered(
            self._services.guard, caller, endpoint=PATH,
            answer=lambda meter: self._admitted(http, meter),
        )  # fmt: skip

    async def _admitted(self, http: Request, meter: Meter) -> Response:
        services = self._services
        chat = services.chat
        raw = await bodies.read(scope=http.scope, receive=http.receive, limits=self._limits())
        body = request.parse(raw)
        meter.model = body.model
        http_metrics.note_model(body.model)
        if media_chat.handles(body.model):  # image, image-edit and video models: a media job
            await services.guard.admit(meter, model=body.model, cost=catalogue.get(body.model).cost)
            return media_chat.respond(
                services.media, body, chat=chat.settings.current.chat, caller=meter.caller
            )
        plan_ = plan.plan(body=body, chat=chat.settings.current.chat)
        await services.guard.admit(meter, model=plan_.model, cost=plan_.cost)
        if meter.request_id == "-":  # no request-id middleware in front (tests, embedding)
            meter.request_id = plan_.completion_id
        request_id = meter.request_id
        if plan_.stream:
            events = service.stream(deps=chat, plan_=plan_, request_id=request_id, meter=meter)
            return responses.EventStream(events, keepalive=plan_.keepalive)
        return responses.DeferredJson(
            lambda: service.complete(deps=chat, plan_=plan_, request_id=request_id, meter=meter)
        )
