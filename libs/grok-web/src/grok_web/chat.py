"""Chat over REST app-chat (protocol §3, §4): request body and the event stream.

:func:`stream_app_chat` is shared by chat, image edit and video generation: it
posts a body to ``/rest/app-chat/conversations/new`` and yields typed events. A chat
turn that continues a conversation (:class:`Continuation`, §3.2) posts the same body plus
``responseId`` to ``/rest/app-chat/conversations/{conversationId}/responses``.
:func:`chat_batches` yields the events of each network read as one list, for callers
that forward a whole stream (one resumption per read instead of one per event).
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from typing import Any

from grok_web import catalogue, context, frames, ndjson, translate
from grok_web import events as ev

NEW_CONVERSATION = "/rest/app-chat/conversations/new"
CONTINUE_CONVERSATION = "/rest/app-chat/conversations/{conversation_id}/responses"

DEVICE_ENV_INFO: Mapping[str, Any] = {
    "darkModeEnabled": False,
    "devicePixelRatio": 2,
    "screenWidth": 2056,
    "screenHeight": 1329,
    "viewportWidth": 2056,
    "viewportHeight": 1083,
}
DEFAULT_TOOL_OVERRIDES: Mapping[str, bool] = {
    "gmailSearch": False,
    "googleCalendarSearch": False,
    "outlookSearch": False,
    "outlookCalendarSearch": False,
    "googleDriveSearch": False,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Continuation:
    """Where a turn continues an upstream conversation: its id and the id of the
    assistant response the new turn answers (the ``Final`` of the previous turn reports
    both). Only the account that holds the conversation can continue it (§6.4)."""

    conversation_id: str
    parent_response_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat turn. ``message`` is the already flattened prompt; ``model`` a
    catalogue id (its mode becomes ``modeId``). ``None`` flags take the client
    defaults (chat.temporary / chat.disable_memory). ``overrides`` are merged into
    the top level of the body last (e.g. ``{"enableNsfw": True}``). ``continuation``
    continues an upstream conversation instead of starting one (§3.2, §6.2)."""

    message: str
    model: str = "grok-4"
    file_attachments: tuple[str, ...] = ()
    image_generation_count: int = 2
    enable_image_generation: bool = True
    temporary: bool | None = None
    disable_memory: bool | None = None
    disable_search: bool = False
    custom_personality: str = ""
    tool_overrides: Mapping[str, Any] | None = None
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    continuation: Continuation | None = None


def build_body(*, request: ChatRequest, ctx: context.Context) -> dict[str, Any]:
    """The v2.x app-chat body (§3.1); a continuation adds ``responseId`` (§3.2)."""
    spec = catalogue.get(request.model)
    defaults = ctx.options.chat
    body: dict[str, Any] = {
        "deviceEnvInfo": dict(DEVICE_ENV_INFO),
        "disableMemory": (
            defaults.disable_memory if request.disable_memory is None else request.disable_memory
        ),
        "disableSearch": request.disable_search,
        "disableSelfHarmShortCircuit": False,
        "disableTextFollowUps": False,
        "enableImageGeneration": request.enable_image_generation,
        "enableImageStreaming": True,
        "enableSideBySide": True,
        "fileAttachments": list(request.file_attachments),
        "forceConcise": False,
        "forceSideBySide": False,
        "imageAttachments": [],
        "imageGenerationCount": request.image_generation_count,
        "isAsyncChat": False,
        "message": request.message,
        "modeId": spec.mode,
        "responseMetadata": {},
        "returnImageBytes": False,
        "returnRawGrokInXaiRequest": False,
        "sendFinalMetadata": True,
        "temporary": defaults.temporary if request.temporary is None else request.temporary,
        "toolOverrides": dict(request.tool_overrides or DEFAULT_TOOL_OVERRIDES),
        "collectionIds": [],
        "connectors": [],
        "searchAllConnectors": False,
    }
    if request.custom_personality:
        body["customPersonality"] = request.custom_personality
    if request.continuation is not None:
        body["responseId"] = request.continuation.parent_response_id
    body.update(request.overrides)
    return body


async def chat(
    *, ctx: context.Context, credential: str, request: ChatRequest
) -> AsyncIterator[ev.ChatEvent]:
    """Stream one chat turn as typed events, ending with :class:`events.Final`."""
    async for batch in chat_batches(ctx=ctx, credential=credential, request=request):
        for event in batch:
            yield event


def chat_batches(
    *, ctx: context.Context, credential: str, request: ChatRequest
) -> AsyncIterator[list[ev.ChatEvent]]:
    """The events of one chat turn, a non-empty list per network read; the last list
    ends with :class:`events.Final`."""
    headers = ctx.headers.json(credential=credential, origin=ctx.origin, referer=ctx.page("/"))
    continuation = request.continuation
    return _app_chat_batches(
        ctx=ctx,
        headers=headers,
        body=build_body(request=request, ctx=ctx),
        credential=credential,
        idle_timeout=ctx.options.timeouts.stream_idle,
        path=(
            NEW_CONVERSATION
            if continuation is None
            else CONTINUE_CONVERSATION.format(
                conversation_id=urllib.parse.quote(continuation.conversation_id, safe="")
            )
        ),
        # A continued conversation's stream has no result.conversation frame (§4.3): the
        # Final still names the conversation.
        conversation_id="" if continuation is None else continuation.conversation_id,
    )


async def stream_app_chat(
    *,
    ctx: context.Context,
    headers: dict[str, str],
    body: Mapping[str, Any],
    credential: str,
    idle_timeout: float,
) -> AsyncIterator[ev.ChatEvent]:
    """POST ``body`` to app-chat and yield its events; the last one is ``Final``."""
    async for batch in _app_chat_batches(
        ctx=ctx, headers=headers, body=body, credential=credential, idle_timeout=idle_timeout
    ):
        for event in batch:
            yield event


async def _app_chat_batches(
    *,
    ctx: context.Context,
    headers: dict[str, str],
    body: Mapping[str, Any],
    credential: str,
    idle_timeout: float,
    path: str = NEW_CONVERSATION,
    conversation_id: str = "",
) -> AsyncIterator[list[ev.ChatEvent]]:
    secrets = (credential,)
    decoder = ndjson.LineDecoder()
    parser = frames.ChatStreamParser(secrets=secrets)
    parser.conversation_id = conversation_id
    handle_all = parser.handle_all
    out: list[Any] = []
    async with ctx.transport.stream(
        "POST",
        ctx.url(path),
        headers=headers,
        json=body,
        secrets=secrets,
        first_byte=ctx.options.timeouts.first_byte,
    ) as response:
        async for chunk in response.chunks(idle_timeout=idle_timeout):
            handle_all(decoder.feed(chunk), out)
            if out:
                batch, out = out, []
                yield batch
            if decoder.done:
                break
        handle_all(decoder.flush(), out)
    if decoder.frames == 0 and decoder.skipped:
        raise translate.malformed("no JSON object in the chat stream")
    out.append(parser.finish())
    yield out
