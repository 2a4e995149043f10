"""Run a Responses request through the chat path; stream its events or build its object.

The upstream events come from ``chat.service.upstream_events`` (the one lease-and-retry
path) through the turn the Messages front uses (``anthropic.answer.Turn``: the chat
``Translator``, the ``max_output_tokens`` cut, tool calls checked against their schemas);
only the events and the response object are this API's own. ``run`` yields the stream's
bytes; the non-streaming and background answers take the same events and keep the object.
Once the answer ends, ``on_done`` hears the finished response (to store it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from .. import errors, http_metrics, metrics
from ..access.meter import Meter
from ..anthropic import answer as shared
from ..chat import plan, service
from . import events, render

OnDone = Callable[[dict[str, Any]], Awaitable[None]]
UNLIMITED = 1 << 30  # no max_output_tokens: the shaper never cuts


@dataclasses.dataclass(frozen=True, kw_only=True)
class Job:
    deps: service.Deps
    plan: plan.Plan
    output: shared.Output
    response: dict[str, Any]
    request_id: str
    meter: Meter


async def run(job: Job, *, on_done: OnDone) -> AsyncIterator[bytes]:
    """The whole stream; a failure after ``response.created`` ends it with ``error`` and
    ``response.failed`` (and is recorded as the response's error)."""
    writer = events.EventWriter(job.response)
    try:
        async with contextlib.aclosing(_events(job, writer)) as chunks:
            async for chunk in chunks:
                yield chunk
    except Exception as exc:
        status, payload = errors.payload_for(exc)
        http_metrics.note_status(status)  # the head said 200; the answer failed
        yield writer.fail(payload)
    await on_done(writer.response)


async def complete(job: Job, *, on_done: OnDone) -> tuple[int, bytes]:
    """The finished response object as one JSON body; a failure is raised as it came
    (its own status), after ``on_done`` heard of the failed response."""
    writer = events.EventWriter(job.response)
    try:
        async with contextlib.aclosing(_events(job, writer)) as chunks:
            async for _ in chunks:
                pass
    except Exception as exc:
        _, payload = errors.payload_for(exc)
        writer.fail(payload)
        await on_done(writer.response)
        raise
    await on_done(writer.response)
    return 200, orjson.dumps(writer.response)


async def _events(job: Job, writer: events.EventWriter) -> AsyncGenerator[bytes, None]:
    deps, plan_, meter = job.deps, job.plan, job.meter
    started = time.perf_counter()
    turn = shared.Turn(deps=deps, plan_=plan_, output=job.output)
    input_tokens = deps.tokens.count(plan_.prompt.text)
    first = True
    try:
        yield writer.start()
        async with contextlib.aclosing(
            turn.pieces(request_id=job.request_id, meter=meter)
        ) as parts:
            async for shaped in parts:
                if first:
                    first = False
                    metrics.first_token(
                        model=plan_.model, seconds=http_metrics.since_arrival(started)
                    )
                    meter.first_token()
                yield writer.pieces(shaped)
        ending = turn.finish()
        tail = [writer.pieces(ending.pieces)]
        tail.extend(writer.call(use) for use in ending.uses)
        cut = ending.stop_reason == "max_tokens"
        tail.append(
            writer.finish(
                status="incomplete" if cut else "completed",
                usage=_usage(deps, writer.response, input_tokens, ending.output_tokens),
                reason="max_output_tokens" if cut else None,
            )
        )
        metrics.streamed_tokens(model=plan_.model, tokens=ending.output_tokens)
        meter.succeeded(_recorded(writer.response["usage"]))
        yield b"".join(tail)
    except Exception as exc:
        meter.fail(exc)
        raise


def output_of(*, max_output_tokens: int | None, tool_schemas: dict[str, Any]) -> shared.Output:
    return shared.output_of(
        max_tokens=max_output_tokens or UNLIMITED, stop_sequences=(), tool_schemas=tool_schemas
    )


def _recorded(usage: dict[str, Any]) -> dict[str, int]:
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }


def _usage(
    deps: service.Deps, response: dict[str, Any], input_tokens: int, output_tokens: int
) -> dict[str, Any]:
    summaries = [
        part["text"]
        for item in response["output"]
        if item["type"] == "reasoning"
        for part in item["summary"]
    ]
    reasoning = min(deps.tokens.count("".join(summaries)), output_tokens)
    return render.usage(
        input_tokens=input_tokens, output_tokens=output_tokens, reasoning_tokens=reasoning
    )
