"""Chat over the mgw WebSocket gateway (protocol §6; grok.com's web page since August 2026).

One turn is one connection to ``ws(s)://<base>/ws/mgw/?uid=<user uuid>``:

1. ``session.create`` (the model's mode, the ``x_grok`` flags of a new conversation; or,
   continuing one (``ChatRequest.continuation``), the top-level ``session_id`` and
   ``conversation_id`` / ``load_existing`` / ``needs_history``);
2. wait for ``session.created`` (its ``client_event_id`` must be ours) and
   ``conversation.attached`` (its conversation id must be the session id, and the
   continued conversation's id when continuing);
3. ``conversation.item.create`` (file mentions, then the text; ``parent_response_id``
   when continuing) and ``response.create``;
4. server events → the same :mod:`grok_web.events` the REST parser yields, ending with
   :class:`~grok_web.events.Final` at ``response.done`` (its ``response_id`` is the
   ``response.done`` id, the parent of the next turn; ``conversation_id`` the session id).

Failures are :mod:`grok_web.errors` built by :mod:`grok_web.translate`: a refused upgrade
like the Imagine one (``translate.from_ws_handshake``), an ``error`` event like an in-band
REST error (``translate.from_inband``), ``session.ended`` or the socket closing before
``response.done`` → :class:`errors.UpstreamUnavailable`, no first event within
``timeouts.first_byte`` → :class:`errors.FirstByteTimeout`, a silence longer than
``timeouts.stream_idle`` → :class:`errors.StreamIdleTimeout`. A heartbeat ``ping`` goes out
every ``mgw_link.HEARTBEAT_SECONDS`` while waiting. Closing the iterator or cancelling the
consumer terminates the socket at once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from grok_web import catalogue, context, errors, frames, translate
from grok_web import events as ev
from grok_web import session as session_mod
from grok_web.chat import ChatRequest
from grok_web.mgw_link import Link, ms

MGW = "/ws/mgw/"
PROTOCOL_CAPABILITIES = ("conversation_attached", "custom_methods_v1")
ASSISTANT_CHANNEL = "CHANNEL_ASSISTANT_RESPONSE"
CODE_NOT_FOUND = 5


def ws_url(base_url: str, user_id: str) -> str:
    """``ws(s)://…/ws/mgw/?uid=<uuid>`` for an http(s) base URL (§6.1)."""
    if base_url.startswith("https://"):
        origin = "wss://" + base_url[len("https://") :]
    else:
        origin = "ws://" + base_url.removeprefix("http://")
    return f"{origin}{MGW}?uid={user_id}"


def session_create(*, request: ChatRequest, ctx: context.Context) -> dict[str, Any]:
    """The ``session.create`` event of a new or a continued conversation (§6.2)."""
    spec = catalogue.get(request.model)
    defaults = ctx.options.chat
    temporary = defaults.temporary if request.temporary is None else request.temporary
    disable_memory = (
        defaults.disable_memory if request.disable_memory is None else request.disable_memory
    )
    x_grok: dict[str, Any] = {
        "protocol_capabilities": list(PROTOCOL_CAPABILITIES),
        "use_chunk": True,
        "enable_side_by_side": True,
        "force_side_by_side": False,
        "enable_image_generation": request.enable_image_generation,
        "image_generation_count": request.image_generation_count,
        "disable_text_follow_ups": False,
        "disable_artifact": True,
        "force_concise": False,
    }
    frame: dict[str, Any] = {
        "event": {
            "type": "session.create",
            "event_id": f"evt_init_{uuid.uuid4()}",
            "session": {"model": spec.mode, "x_grok": x_grok},
        }
    }
    continuation = request.continuation
    if continuation is None:
        x_grok.update(keep_context=False, is_temporary=temporary, disable_memory=disable_memory)
    else:
        # the upstream keeps the history: it is loaded, not re-sent
        x_grok.update(
            conversation_id=continuation.conversation_id, load_existing=True, needs_history=False
        )
        frame["session_id"] = continuation.conversation_id
    return frame


def item_create(*, session_id: str, request: ChatRequest) -> dict[str, Any]:
    """``conversation.item.create``: one file mention per attachment, then the text."""
    chunks: list[dict[str, Any]] = [
        {"mention": {"target": {"file_mention": {"file_id": file_id}}}}
        for file_id in request.file_attachments
    ]
    chunks.append({"text": {"text": request.message}})
    item: dict[str, Any] = {
        "type": "message",
        "role": "user",
        "x_grok": {"client_message_id": str(uuid.uuid4()), "input_chunks": chunks},
    }
    event: dict[str, Any] = {
        "type": "conversation.item.create",
        "event_id": f"evt_msg_{ms()}",
        "item": item,
    }
    if request.continuation is not None:
        event["parent_response_id"] = request.continuation.parent_response_id
    if request.file_attachments:
        item["file_attachment_ids"] = list(request.file_attachments)
        event["file_attachment_ids"] = list(request.file_attachments)
    return {"session_id": session_id, "event": event}


def response_create(*, session_id: str) -> dict[str, Any]:
    """``response.create`` (no ``castle_request_token``, as HEAD)."""
    return {
        "session_id": session_id,
        "event": {"type": "response.create", "event_id": f"evt_resp_{ms()}"},
    }


async def chat(
    *,
    ctx: context.Context,
    credential: str,
    request: ChatRequest,
    user_ids: session_mod.UserIdCache,
    user_id: str = "",
) -> AsyncIterator[ev.ChatEvent]:
    """One turn over mgw as typed events, ending with :class:`events.Final`."""
    async for batch in chat_batches(ctx=ctx, credential=credential, request=request,
                                    user_ids=user_ids, user_id=user_id):  # fmt: skip
        for event in batch:
            yield event


async def chat_batches(
    *,
    ctx: context.Context,
    credential: str,
    request: ChatRequest,
    user_ids: session_mod.UserIdCache,
    user_id: str = "",
) -> AsyncIterator[list[ev.ChatEvent]]:
    """The events of one mgw turn, a non-empty list per server event that produced any;
    the first is ``[ConversationStarted]``, the last ends with ``Final``. ``user_id`` is
    the account's user id when the caller knows it (no ``/api/auth/session`` call); else
    it is looked up (``user_ids``, §16) and reported on ``ConversationStarted.user_id``."""
    secrets = (credential,)
    create = session_create(request=request, ctx=ctx)  # unknown model: before any I/O
    discovered = ""
    if user_id:
        user_id = _known_user_id(user_id)
    else:
        user_id = discovered = await user_ids.get(ctx=ctx, credential=credential)
    headers = ctx.headers.mgw(credential=credential, origin=ctx.origin, user_id=user_id)
    ws = await ctx.transport.websocket(
        ws_url(ctx.options.endpoints.base_url, user_id), headers=headers, secrets=secrets
    )
    timeouts = ctx.options.timeouts
    link = Link(ws, secrets=secrets, first_byte=timeouts.first_byte, idle=timeouts.stream_idle)
    turn = Turn(secrets=secrets)
    try:
        await link.send(create)
        continuation = request.continuation
        session_id = await _attach(
            link, event_id=create["event"]["event_id"], continuing=continuation is not None
        )
        if continuation is not None and session_id != continuation.conversation_id:
            raise translate.malformed("mgw attached another conversation than the one continued")
        yield [turn.started(session_id, user_id=discovered)]
        await link.send(item_create(session_id=session_id, request=request))
        await link.send(response_create(session_id=session_id))
        link.await_first_answer()
        while True:
            frame = await link.receive()
            out: list[Any] = []
            final = turn.handle(frame, out)
            if final is not None:
                out.append(final)
                await link.close()
                yield out
                return
            if out:
                yield out
    finally:
        ws.terminate()  # done, failed, cancelled or closed early: drop the connection at once


def _known_user_id(value: str) -> str:
    """A caller's user id, canonical; it goes into the URL and a cookie, so only a UUID."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise errors.UsageError("user_id must be the account's user id (a UUID)") from None


async def _attach(link: Link, *, event_id: str, continuing: bool) -> str:
    """Wait for ``session.created`` (ours) and ``conversation.attached``; the session id.
    Continuing, an ``error`` event of code 5 (gRPC NOT_FOUND) is the conversation gone
    upstream: :class:`errors.NotFound`, so callers do not retry it."""
    session_id = ""
    attached: str | None = None
    while not session_id or attached is None:
        frame = await link.receive()
        event = _event(frame)
        kind = event.get("type")
        if kind == "session.created":
            if str(event.get("client_event_id") or "") != event_id:
                continue  # another event's acknowledgement
            session = event.get("session")
            sid = frame.get("session_id") or (
                session.get("id") if isinstance(session, Mapping) else None
            )
            if not sid:
                raise translate.malformed("mgw session.created without a session id")
            session_id = str(sid)
        elif kind == "conversation.attached":
            conversation = event.get("conversation")
            attached = str(
                (conversation.get("id") if isinstance(conversation, Mapping) else "") or ""
            )
        else:
            if continuing and kind == "error" and _code(event.get("error")) == CODE_NOT_FOUND:
                raise errors.NotFound(
                    "upstream mgw conversation to continue not found", status=404, code=5
                )
            _raise_terminal(event, link.secrets, before="conversation.attached")
    if attached != session_id:
        raise translate.malformed("mgw conversation.attached names another conversation")
    return session_id


def _code(error: Any) -> int | None:
    code = error.get("code") if isinstance(error, Mapping) else None
    return code if isinstance(code, int) else None


def _event(frame: Any) -> Mapping[str, Any]:
    event = frame.get("event") if isinstance(frame, Mapping) else None
    if not isinstance(event, Mapping):
        raise translate.malformed("mgw frame without an event object")
    return event


def _raise_terminal(event: Mapping[str, Any], secrets: tuple[str, ...], *, before: str) -> None:
    kind = event.get("type")
    if kind == "error":
        raise translate.from_inband(event.get("error") or event, secrets=secrets)
    if kind == "session.ended":
        raise errors.UpstreamUnavailable(f"upstream mgw session ended before {before}")


class Turn:
    """The state of one mgw response: server frames → typed events (see the module doc).
    Shares the REST parser's card and citation handling so both paths number citations
    and report images alike."""

    __slots__ = (
        "_cards", "_content", "_images", "_secrets", "_streamed", "_text", "conversation_id"
    )

    def __init__(self, *, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = secrets
        self._cards = frames.ChatStreamParser(secrets=secrets)
        self._text: list[str] = []
        self._streamed = False
        self._content = False
        self._images: list[str] = []  # final image URLs, for Final as REST reports them
        self.conversation_id = ""

    def started(self, session_id: str, *, user_id: str = "") -> ev.ConversationStarted:
        self.conversation_id = session_id
        return ev.ConversationStarted(session_id, user_id=user_id)

    def handle(self, frame: Any, out: list[Any]) -> ev.Final | None:
        """Append the events of one frame to ``out``; the Final at ``response.done``. An
        event whose nested fields have unexpected types raises ``MalformedResponse``."""
        try:
            return self._handle(frame, out)
        except (AttributeError, TypeError, ValueError) as exc:
            raise translate.malformed("unexpected mgw event shape", exc=exc) from exc

    def _handle(self, frame: Any, out: list[Any]) -> ev.Final | None:
        event = _event(frame)
        kind = event.get("type")
        if kind == "response.chunk":
            chunk = event.get("chunk")
            if isinstance(chunk, Mapping):
                self._chunk(chunk, out)
        elif kind == "response.output_text.delta":
            self._answer(event.get("delta"), out)
        elif kind == "response.output_text.done":
            if not self._streamed:
                self._answer(event.get("text"), out)
        elif kind == "response.search.result":
            result = event.get("result")
            if isinstance(result, Mapping):
                self._web_results([result], out)
        elif kind == "response.grok.output":
            self._grok_output(event.get("output"), out)
        elif kind == "response.done":
            return self._done(event)
        else:
            _raise_terminal(event, self._secrets, before="response.done")
        return None

    def _answer(self, text: Any, out: list[Any]) -> None:
        if isinstance(text, str) and text:
            self._text.append(text)
            out.append(ev.TextDelta(text))
            self._streamed = self._content = True

    def _chunk(self, chunk: Mapping[str, Any], out: list[Any]) -> None:
        text = chunk.get("text")
        if isinstance(text, Mapping):
            channel = str(text.get("channel") or "")
            if "ANALYSIS" in channel or "REASONING" in channel:
                value = text.get("text")
                if isinstance(value, str) and value:
                    out.append(ev.ReasoningDelta(value))
                    self._content = True
            elif channel in ("", ASSISTANT_CHANNEL):
                self._answer(text.get("text"), out)
        card = chunk.get("tool_usage_card")
        if isinstance(card, Mapping):
            self._tool_card(card, out)
        result = chunk.get("tool_result")
        if isinstance(result, Mapping):
            self._tool_result(result, out)
        citation = chunk.get("render_citation")
        if isinstance(citation, Mapping) and citation.get("url"):
            self._cards.citation(
                str(citation["url"]), str(citation.get("id") or citation.get("citation_id") or ""),
                out,
            )  # fmt: skip

    def _tool_card(self, card: Mapping[str, Any], out: list[Any]) -> None:
        card_id = str(card.get("tool_usage_card_id") or "")
        for name, value in card.items():
            if name == "tool_usage_card_id" or not isinstance(value, Mapping):
                continue
            args = value.get("args")
            out.append(ev.ToolUsageCard(card_id, name, args if isinstance(args, Mapping) else {}))
            self._content = True
            return

    def _tool_result(self, result: Mapping[str, Any], out: list[Any]) -> None:
        web = result.get("web_search")
        if isinstance(web, Mapping):
            pages = web.get("webpages")
            self._web_results([p for p in pages or () if isinstance(p, Mapping)], out)
        x_post = result.get("x_post")
        if isinstance(x_post, Mapping):
            found = []
            for post in x_post.get("posts") or ():
                if not isinstance(post, Mapping):
                    continue
                user, post_id = post.get("userhandle") or "", post.get("post_id") or ""
                url = f"https://x.com/{user}/status/{post_id}"
                found.append(ev.SearchResult(url, f"@{user}", str(post.get("text") or "")))
            if found:
                out.append(ev.SearchResults("x", tuple(found)))

    def _web_results(self, items: list[Mapping[str, Any]], out: list[Any]) -> None:
        found = []
        for item in items:
            url, title = str(item.get("url") or ""), str(item.get("title") or "")
            self._cards.remember_title(url, title)
            found.append(ev.SearchResult(url, title, str(item.get("snippet") or "")))
        if found:
            out.append(ev.SearchResults("web", tuple(found)))

    def _grok_output(self, output: Any, out: list[Any]) -> None:
        if not isinstance(output, Mapping):
            return
        error = output.get("stream_error")
        if error:
            raise translate.from_inband(error, secrets=self._secrets)
        card = output.get("card_attachment")
        if card is None:
            return
        if isinstance(card, Mapping) and "json_data" in card:
            card = card["json_data"]
        before = len(out)
        self._cards.card(card, out)
        for added in out[before:]:
            if isinstance(added, ev.ImageProgress | ev.ImageFinal):
                self._content = True
            if isinstance(added, ev.ImageFinal) and added.url:
                self._images.append(added.url)

    def _done(self, event: Mapping[str, Any]) -> ev.Final:
        response = event.get("response")
        if not isinstance(response, Mapping):
            raise translate.malformed("mgw response.done without a response object")
        status = str(response.get("status") or "")
        if status != "completed":
            error = response.get("error") or f"response status {status or 'missing'}"
            raise translate.from_inband(error, secrets=self._secrets)
        if not self._content:
            raise errors.EmptyStream("upstream mgw response ended without content")
        return ev.Final(
            response_id=str(response.get("id") or ""),
            message="".join(self._text),
            conversation_id=self.conversation_id,
            generated_image_urls=tuple(self._images),
        )
