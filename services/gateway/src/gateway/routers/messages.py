"""``POST /v1/messages`` and ``POST /v1/messages/count_tokens``: Anthropic's Messages API.

Plain ASGI endpoints served ahead of FastAPI's stack, as ``routers.chat`` is (see there
for why), with the same keys, limits, usage records and lease-and-retry path as chat;
every error, before or during a stream, is rendered in Anthropic's shape.
``anthropic-version`` and ``anthropic-beta`` are accepted and not needed.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .. import bodies, deps, errors, http_metrics, responses
from ..access.meter import Meter
from ..anthropic import answer, convert, events, request
from ..anthropic import errors as anthropic_errors
from ..chat import plan

PATH = "/v1/messages"
COUNT_PATH = "/v1/messages/count_tokens"

DIALECT = responses.Dialect(
    payload_for=anthropic_errors.payload_for,
    error_event=anthropic_errors.error_event,
    keepalive=events.PING,
    done=events.STOP,
)


class _Endpoint:
    """Reads the body within the server's limits; renders every error as Anthropic does."""

    def __init__(self, services: deps.AppServices) -> None:
        self._services = services

    def _limits(self) -> bodies.Limits:
        return bodies.Limits.from_settings(self._services.chat.settings.current.server)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.respond(Request(scope, receive))
        except errors.BodyRefused as exc:
            await bodies.refuse(
                exc, scope=scope, receive=receive, send=send, limits=self._limits(),
                render=anthropic_errors.error_response,
            )  # fmt: skip
            return
        except ClientDisconnect:
            return  # gone before its body was in: nobody to answer
        except Exception as exc:
            response = anthropic_errors.error_response(exc)
        await response(scope, receive, send)

    async def respond(self, http: Request) -> Response:
        raise NotImplementedError

    async def _body(self, http: Request) -> bytes:
        return await bodies.read(scope=http.scope, receive=http.receive, limits=self._limits())


class Messages(_Endpoint):
    async def respond(self, http: Request) -> Response:
        """The response for one request (also the FastAPI route: other methods get 405)."""
        guard = self._services.guard
        caller = await guard.authenticate(http.headers)
        return await responses.metered(
            guard, caller, endpoint=PATH, answer=lambda meter: self._admitted(http, meter)
        )

    async def _admitted(self, http: Request, meter: Meter) -> Response:
        chat = self._services.chat
        body = request.parse(await self._body(http))
        meter.model = body.model
        http_metrics.note_model(body.model)
        plan_ = convert.plan_for(body, chat=chat.settings.current.chat)
        await self._services.guard.admit(meter, model=plan_.model, cost=plan_.cost)
        if meter.request_id == "-":  # no request-id middleware in front (tests, embedding)
            meter.request_id = plan_.completion_id
        output = answer.output_of(
            max_tokens=body.max_tokens,
            stop_sequences=body.stop_sequences,
            tool_schemas=convert.tool_schemas(body),
        )
        request_id = meter.request_id
        if plan_.stream:
            events_ = answer.stream(
                deps=chat, plan_=plan_, output=output, request_id=request_id, meter=meter
            )
            return responses.EventStream(events_, keepalive=plan_.keepalive, dialect=DIALECT)
        return responses.DeferredJson(
            lambda: answer.complete(
                deps=chat, plan_=plan_, output=output, request_id=request_id, meter=meter
            ),
            dialect=DIALECT,
        )


class CountTokens(_Endpoint):
    async def respond(self, http: Request) -> Response:
        """``{"input_tokens": N}``: the prompt the chat path would send, counted as it
        counts prompts (an estimate: Grok's tokenizer is not public)."""
        services = self._services
        caller = await services.guard.authenticate(http.headers)
        body = request.parse_count(await self._body(http))
        planned = plan.plan(
            body=convert.chat_request(body), chat=services.chat.settings.current.chat
        )
        if not caller.allows(planned.model):
            raise errors.ModelNotAllowed(
                f"This API key may not use the model '{planned.model}'.", param="model"
            )
        tokens = services.chat.tokens.count(planned.prompt.text)
        return errors.json_response(200, {"input_tokens": tokens})
