"""Run a Messages request through the chat path and answer in Anthropic's shapes.

``stream`` yields SSE bytes, ``complete`` one ``message`` body. Both take the upstream
events from ``chat.service.upstream_events`` (attachments, the one lease-and-retry path,
the grok_web call) and the chat ``Translator``; only the shaping (``shape``, ``tool_input``)
and the rendering (``events``, ``render``) are this API's own. Output cut at a stop
sequence or at ``max_tokens`` closes the upstream stream there: the lease is released as
cancelled (the account keeps its charge and no blame).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

import orjson

from .. import http_metrics, metrics
from ..access.meter import Meter
from ..chat import plan, service, translate
from . import events, render, shape, tool_input


@dataclasses.dataclass(frozen=True, kw_only=True)
class Output:
    """The request's rules for its output, which the upstream cannot apply."""

    max_tokens: int
    stop_sequences: tuple[str, ...]
    tool_schemas: Mapping[str, Mapping[str, Any]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ending:
    pieces: list[shape.Piece]
    uses: list[tool_input.ToolUse]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


async def stream(
    *, deps: service.Deps, plan_: plan.Plan, output: Output, request_id: str, meter: Meter
) -> AsyncIterator[bytes]:
    """Anthropic's events of the whole message; an error after the first byte propagates
    to the response, which ends the stream with an ``error`` event."""
    started = time.perf_counter()
    writer = events.EventWriter(message_id=plan_.completion_id, model=plan_.model)
    turn = Turn(deps=deps, plan_=plan_, output=output)
    input_tokens = deps.tokens.count(plan_.prompt.text)
    first = True
    try:
        async with contextlib.aclosing(turn.pieces(request_id=request_id, meter=meter)) as parts:
            async for shaped in parts:
                out = writer.pieces(shaped)
                if first:
                    first = False
                    out = writer.start(input_tokens=input_tokens) + out
                    seconds = http_metrics.since_arrival(started)
                    metrics.first_token(model=plan_.model, seconds=seconds)
                    meter.first_token()
                yield out
        ending = turn.finish()
        tail = [writer.start(input_tokens=input_tokens)] if first else []
        tail.append(writer.pieces(ending.pieces))
        tail.extend(writer.tool_use(use) for use in ending.uses)
        tail.append(
            writer.finish(
                stop_reason=ending.stop_reason,
                stop_sequence=ending.stop_sequence,
                input_tokens=input_tokens,
                output_tokens=ending.output_tokens,
            )
        )
        metrics.streamed_tokens(model=plan_.model, tokens=ending.output_tokens)
        meter.succeeded(_usage(input_tokens, ending.output_tokens))
        yield b"".join(tail)
    except Exception as exc:
        meter.fail(exc)
        raise


async def complete(
    *, deps: service.Deps, plan_: plan.Plan, output: Output, request_id: str, meter: Meter
) -> tuple[int, bytes]:
    """One ``message`` JSON body."""
    try:
        turn = Turn(deps=deps, plan_=plan_, output=output)
        pieces: list[shape.Piece] = []
        async with contextlib.aclosing(turn.pieces(request_id=request_id, meter=meter)) as parts:
            async for shaped in parts:
                pieces.extend(shaped)
        ending = turn.finish()
        input_tokens = deps.tokens.count(plan_.prompt.text)
        body = render.message(
            message_id=plan_.completion_id,
            model=plan_.model,
            pieces=[*pieces, *ending.pieces],
            uses=ending.uses,
            stop_reason=ending.stop_reason,
            stop_sequence=ending.stop_sequence,
            input_tokens=input_tokens,
            output_tokens=ending.output_tokens,
        )
        meter.succeeded(_usage(input_tokens, ending.output_tokens))
        return 200, orjson.dumps(body)
    except Exception as exc:
        meter.fail(exc)
        raise


class Turn:
    """The translator and the shaper of one request, fed the upstream's events (the
    Responses front runs its turns through it too)."""

    def __init__(self, *, deps: service.Deps, plan_: plan.Plan, output: Output) -> None:
        self._deps = deps
        self._plan = plan_
        self._output = output
        self._translator = translate.Translator(
            filter_tags=plan_.filter_tags,
            reasoning=plan_.reasoning,
            declared_tools=plan_.declared_tools,
        )
        self._shaper = shape.Shaper(
            tokens=deps.tokens,
            max_tokens=output.max_tokens,
            stop_sequences=output.stop_sequences,
        )

    async def pieces(
        self, *, request_id: str, meter: Meter
    ) -> AsyncGenerator[list[shape.Piece], None]:
        """Shaped pieces per upstream read; ends early once the output is cut."""
        tr, shaper = self._translator, self._shaper
        upstream = await service.upstream_events(
            deps=self._deps, plan_=self._plan, request_id=request_id, meter=meter
        )
        async with contextlib.aclosing(upstream) as batches:
            async for batch in batches:
                shaped = shaper.feed(piece for event in batch for piece in tr.feed(event))
                if shaped:
                    yield shaped
                if shaper.done:
                    return

    def finish(self) -> Ending:
        """What remains once the upstream ended (or the output was cut), and why it ended."""
        shaper = self._shaper
        pieces: list[shape.Piece] = []
        uses: list[tool_input.ToolUse] = []
        if not shaper.done:
            ending = self._translator.finish()
            pieces = shaper.feed(ending.pieces)
            uses, refused = tool_input.checked(
                ending.tool_calls, schemas=self._output.tool_schemas
            )
            if refused:
                pieces += shaper.feed([(translate.CONTENT, refused)])
            pieces += shaper.finish()
            if shaper.done:
                uses = []  # the text was cut before the calls: they were never made
        counted = sum(self._deps.tokens.count(use.name + use.json) for use in uses)
        return Ending(
            pieces=pieces,
            uses=uses,
            stop_reason=shaper.stop_reason or ("tool_use" if uses else "end_turn"),
            stop_sequence=shaper.stop_sequence,
            output_tokens=shaper.used + counted,
        )


def _usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    """The OpenAI-shaped counts the meter records, so both APIs' records read alike."""
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def output_of(
    *, max_tokens: int, stop_sequences: Sequence[str] | None, tool_schemas: Mapping[str, Any]
) -> Output:
    return Output(
        max_tokens=max_tokens,
        stop_sequences=tuple(stop_sequences or ()),
        tool_schemas=tool_schemas,
    )
