"""The Responses API's operations: create (stream, JSON or background), retrieve, list
input items, delete, cancel; stored responses and background runs.

A key sees only the responses it created (another key's id is "not found", as for videos).
Background responses run in this process under ``Background`` (stopped with the app),
and go queued → in_progress → completed / incomplete / failed / cancelled in the store,
where a poll on any replica reads them. A cancel from another replica is honoured when
the run ends (its result is not stored over the cancellation).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

from grok2api_telemetry import context
from starlette.responses import Response

from .. import errors, responses
from ..access.caller import Caller
from ..access.guard import Guard
from ..access.meter import Meter
from ..chat import service as chat_service
from . import answer, convert, render, request
from . import store as stores

PATH = "/v1/responses"
FINAL = frozenset({"completed", "incomplete", "failed", "cancelled"})


class ResponseNotFound(errors.ApiError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class Background:
    """The background runs of this process, by response id; ``aclose`` cancels them."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def spawn(self, response_id: str, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks[response_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(response_id, None))

    def cancel(self, response_id: str) -> None:
        task = self._tasks.get(response_id)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResponsesService:
    chat: chat_service.Deps
    guard: Guard
    store: stores.ResponseStore
    background: Background

    async def create(self, raw: bytes, *, caller: Caller) -> Response:
        body = request.parse(raw)
        meter = self.guard.start(caller, endpoint=PATH, request_id=context.request_id.get())
        try:
            job, converted = await self._job(body, caller=caller, meter=meter)
        except Exception as exc:
            await meter.abort(exc)
            raise
        stored = self._storer(body, caller=caller, converted=converted)
        if body.background:
            return await self._queue(job, stored=stored)
        if body.stream:
            stream = responses.EventStream(
                answer.run(job, on_done=stored), keepalive=job.plan.keepalive
            )
            return responses.Metered(stream, meter)
        deferred = responses.DeferredJson(lambda: answer.complete(job, on_done=stored))
        return responses.Metered(deferred, meter)

    async def get(self, response_id: str, *, caller: Caller) -> stores.StoredResponse:
        found = await self.store.get(response_id)
        if found is None or (caller.key_id is not None and found.owner != caller.key_id):
            raise ResponseNotFound(
                f"Response with id '{response_id[:80]}' not found (unknown, deleted, "
                "stored with store=false, or expired).",
                param="response_id",
            )
        return found

    async def delete(self, response_id: str, *, caller: Caller) -> dict[str, Any]:
        await self.get(response_id, caller=caller)
        self.background.cancel(response_id)
        await self.store.delete(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    async def cancel(self, response_id: str, *, caller: Caller) -> dict[str, Any]:
        found = await self.get(response_id, caller=caller)
        if not found.response.get("background"):
            raise errors.InvalidRequest(
                "Only background responses can be cancelled.", param="response_id"
            )
        if found.response["status"] in FINAL:
            return found.response
        cancelled = found.response | {"status": "cancelled"}
        await self._put(dataclasses.replace(found, response=cancelled))
        self.background.cancel(response_id)
        return cancelled

    async def _job(
        self, body: request.ResponsesRequest, *, caller: Caller, meter: Meter
    ) -> tuple[answer.Job, convert.Converted]:
        meter.model = body.model
        history: list[dict[str, Any]] = []
        if body.previous_response_id:
            history = await self._history(body.previous_response_id, caller=caller)
        converted = convert.convert(body, history=history, chat=self.chat.settings.current.chat)
        plan_ = converted.plan
        await self.guard.admit(meter, model=plan_.model, cost=plan_.cost)
        if meter.request_id == "-":
            meter.request_id = plan_.completion_id
        status = "queued" if body.background else "in_progress"
        job = answer.Job(
            deps=self.chat,
            plan=plan_,
            output=answer.output_of(
                max_output_tokens=body.max_output_tokens, tool_schemas=convert.tool_schemas(body)
            ),
            response=render.skeleton(body, response_id=plan_.completion_id, status=status),
            request_id=meter.request_id,
            meter=meter,
        )
        return job, converted

    async def _history(self, previous_id: str, *, caller: Caller) -> list[dict[str, Any]]:
        try:
            previous = await self.get(previous_id, caller=caller)
        except ResponseNotFound:
            raise errors.InvalidRequest(
                f"Previous response with id '{previous_id[:80]}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            ) from None
        return previous.history

    def _storer(
        self, body: request.ResponsesRequest, *, caller: Caller, converted: convert.Converted
    ) -> answer.OnDone:
        async def on_done(response: dict[str, Any]) -> None:
            if not (body.store or body.background):
                return
            history = [*converted.history, *_assistant(response)]
            stored = stores.StoredResponse(
                owner=caller.key_id,
                response=response,
                input_items=converted.input_items,
                history=history,
            )
            if body.background:
                current = await self.store.get(stored.id)
                if current is not None and current.response["status"] == "cancelled":
                    return  # cancelled meanwhile (maybe from another replica): it stays so
            await self._put(stored)

        return on_done

    async def _queue(self, job: answer.Job, *, stored: answer.OnDone) -> Response:
        queued = dict(job.response)
        await stored(queued)

        async def work() -> None:
            meter = job.meter
            try:
                await stored(job.response | {"status": "in_progress"})
                job.response["status"] = "in_progress"
                with contextlib.suppress(Exception):  # the failure is stored and metered
                    await answer.complete(job, on_done=stored)
                meter.answered(200)
            finally:
                await meter.close()

        self.background.spawn(queued["id"], work())
        return errors.json_response(200, queued)

    async def _put(self, stored: stores.StoredResponse) -> None:
        ttl = self.chat.settings.current.cache.continuation_ttl_seconds
        await self.store.put(stored, ttl_seconds=ttl)


def _assistant(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The response's output as the chat messages a later turn replays."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in response.get("output", ()):
        if item["type"] == "message":
            text.extend(part["text"] for part in item["content"])
        elif item["type"] == "function_call":
            calls.append(
                {
                    "id": item["call_id"],
                    "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]},
                }
            )
    if not (text or calls):
        return []
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if calls:
        message["tool_calls"] = calls
    return [message]
