"""Run a chat ``Plan`` against the upstream through the one lease-and-retry path.

``stream`` yields ready-to-send SSE bytes; ``complete`` returns one ``chat.completion``
body. Both share ``upstream_events`` (attachments, leasing, retries, the grok_web call)
and the ``Translator``; they differ only in how the pieces are rendered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from grok2api_conversations import ConversationStore
from grok2api_poolclient import client as pool_client
from grok2api_poolclient import egress as lease_egress
from grok2api_poolclient import leases, leasing
from grok2api_poolclient.user_ids import UserIdRecorder
from grok2api_settings.live import LiveSettings
from grok_web import chat as grok_chat
from grok_web import events as ev

from .. import http_metrics, metrics
from ..access.meter import Meter
from . import attachments, chunks, plan, tool_parse, translate, upstream, usage

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Deps:
    """What a chat request needs from the app, built once by ``create_app``."""

    settings: LiveSettings
    pool: pool_client.PoolClient
    grok: upstream.GrokChat
    tokens: usage.TokenCounter
    fetcher: attachments.Fetcher
    # continuation state (``continuation.run_turn``); None: turns cannot be continued
    conversations: ConversationStore | None = None
    # stores the user ids mgw turns discover (leases without one); None: not stored
    user_ids: UserIdRecorder | None = None


async def stream(
    *, deps: Deps, plan_: plan.Plan, request_id: str, meter: Meter | None = None
) -> AsyncIterator[bytes]:
    """SSE bytes of the whole completion; errors after the first byte propagate to the
    response, which ends the stream with an error event. ``meter`` hears how it went."""
    started = time.perf_counter()
    writer = chunks.ChunkWriter(
        completion_id=plan_.completion_id, created=plan_.created, model=plan_.model
    )
    tr = _translator(plan_)
    first = True
    try:
        async with contextlib.aclosing(
            await upstream_events(deps=deps, plan_=plan_, request_id=request_id, meter=meter)
        ) as events:
            async for batch in events:
                out = [
                    writer.delta(field, text) for event in batch for field, text in tr.feed(event)
                ]
                if not out:
                    continue
                if first:
                    first = False
                    out.insert(0, writer.role())
                    metrics.first_token(
                        model=plan_.model, seconds=http_metrics.since_arrival(started)
                    )
                    if meter is not None:
                        meter.first_token()
                yield b"".join(out)
        ending = tr.finish()
        out = [writer.role()] if first else []
        out.extend(writer.delta(field, text) for field, text in ending.pieces)
        if ending.tool_calls:
            out.append(writer.tool_calls(ending.tool_calls, _call_ids(ending.tool_calls)))
        out.append(writer.finish(ending.finish_reason))
        counted = None
        if plan_.include_usage or meter is not None:
            counted = _usage(deps, plan_, tr, ending.tool_calls)
        if plan_.include_usage and counted is not None:
            out.append(writer.usage(counted))
        out.append(chunks.DONE)
        if counted is not None:
            # the count the usage object and record needed anyway: never tokenized twice
            metrics.streamed_tokens(model=plan_.model, tokens=counted["completion_tokens"])
            if meter is not None:
                meter.succeeded(counted)
        yield b"".join(out)
    except Exception as exc:
        if meter is not None:
            meter.fail(exc)
        raise


async def complete(
    *, deps: Deps, plan_: plan.Plan, request_id: str, meter: Meter | None = None
) -> tuple[int, bytes]:
    """One ``chat.completion`` JSON body; ``meter`` hears how it went."""
    try:
        return await _completion(deps=deps, plan_=plan_, request_id=request_id, meter=meter)
    except Exception as exc:
        if meter is not None:
            meter.fail(exc)
        raise


async def _completion(
    *, deps: Deps, plan_: plan.Plan, request_id: str, meter: Meter | None
) -> tuple[int, bytes]:
    tr = _translator(plan_)
    async with contextlib.aclosing(
        await upstream_events(deps=deps, plan_=plan_, request_id=request_id, meter=meter)
    ) as events:
        async for batch in events:
            for event in batch:
                tr.feed(event)
    ending = tr.finish()
    content = "".join(tr.content)
    message: dict[str, Any] = {"role": "assistant", "content": content or None, "refusal": None}
    if tr.reasoning_text and plan_.reasoning == "field":
        message["reasoning_content"] = "".join(tr.reasoning_text)
    if ending.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call, call_id in zip(ending.tool_calls, _call_ids(ending.tool_calls), strict=True)
        ]
    elif message["content"] is None:
        message["content"] = ""
    body = {
        "id": plan_.completion_id,
        "object": "chat.completion",
        "created": plan_.created,
        "model": plan_.model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": ending.finish_reason,
            }
        ],
        "usage": (counted := _usage(deps, plan_, tr, ending.tool_calls)),
    }
    if meter is not None:
        meter.succeeded(counted)
    return 200, orjson.dumps(body)


async def upstream_events(
    *,
    deps: Deps,
    plan_: plan.Plan,
    request_id: str,
    continuation: grok_chat.Continuation | None = None,
    account_id: str = "",
    on_lease: Callable[[leases.Lease], None] | None = None,
    meter: Meter | None = None,
) -> AsyncGenerator[Sequence[object], None]:
    """The leased upstream events of the plan in batches (attachments fetched first);
    the caller closes the generator. ``continuation`` continues an upstream conversation,
    ``account_id`` pins every attempt to that account (``leasing.leased_stream``),
    ``on_lease`` hears of every lease an attempt opens the upstream with, and ``meter``
    gives the client key's account tags and learns the tier of the account that served."""
    payloads = await attachments.load(
        plan_.prompt.attachments,
        fetcher=deps.fetcher,
        limits=attachments.Limits.from_settings(deps.settings.current.chat),
    )
    policy = leasing.RetryPolicy.from_settings(deps.settings.current.retry)
    first_leased: list[str] = []  # the account of the first attempt

    async def opener(lease: leases.Lease) -> AsyncIterator[Sequence[object]]:
        if on_lease is not None:
            on_lease(lease)
        if not first_leased:
            first_leased.append(lease.account_id)
        switched = lease.account_id != first_leased[0]
        if meter is not None:
            meter.tier = lease.tier.value
        egress = lease_egress.grok_egress(lease)
        file_ids = await upstream.upload_all(
            deps.grok, credential=lease.credential, payloads=payloads, egress=egress
        )
        request = grok_chat.ChatRequest(
            message=plan_.prompt.text,
            model=plan_.model,
            file_attachments=file_ids,
            temporary=plan_.temporary,
            disable_memory=plan_.disable_memory,
            continuation=continuation,
        )
        # The lease's stored user id spares the mgw turn its /api/auth/session call.
        batches = deps.grok.chat_batches(
            credential=lease.credential, request=request, user_id=lease.user_id, egress=egress
        )
        try:
            async for batch in batches:
                # The conversation id alone is not an answer: keep the account switchable.
                answer = [event for event in batch if type(event) is not ev.ConversationStarted]
                if len(answer) < len(batch) and deps.user_ids is not None:
                    _discovered(deps.user_ids, lease, batch)
                if answer:
                    if switched:  # this attempt answers: the request moved to it
                        switched = False
                        metrics.account_switched(model=plan_.model)
                    yield answer
        finally:
            await batches.aclose()  # type: ignore[attr-defined]

    return leasing.leased_stream(  # type: ignore[return-value]
        pool=deps.pool,
        policy=policy,
        model=plan_.model,
        opener=opener,
        request_id=request_id,
        account_id=account_id,
        account_tags=meter.caller.account_tags if meter is not None else (),
        on_failure=metrics.attempt_failed,
    )


def _discovered(recorder: UserIdRecorder, lease: leases.Lease, batch: Sequence[object]) -> None:
    """A turn that had to look the account's user id up reports it: store it (background)."""
    for event in batch:
        if isinstance(event, ev.ConversationStarted) and event.user_id:
            recorder.discovered(lease, event.user_id)


def _translator(plan_: plan.Plan) -> translate.Translator:
    return translate.Translator(
        filter_tags=plan_.filter_tags,
        reasoning=plan_.reasoning,
        declared_tools=plan_.declared_tools,
    )


def _call_ids(calls: Sequence[tool_parse.ParsedCall]) -> list[str]:
    return ["call_" + secrets.token_hex(12) for _ in calls]


def _usage(
    deps: Deps, plan_: plan.Plan, tr: translate.Translator, calls: Sequence[tool_parse.ParsedCall]
) -> dict[str, Any]:
    return deps.tokens.usage(
        prompt=plan_.prompt.text,
        content=tr.content,
        reasoning=tr.reasoning_text,
        tool_arguments=[call.name + call.arguments for call in calls],
    )
