"""The mgw chat WebSocket `GET /ws/mgw/?uid=<user uuid>` (grok-protocol.md §6, HEAD generation).

Handshake (refused with an HTTP answer, like the Imagine socket): the `sso`/`sso-rw`
cookie, `Origin`, `User-Agent` and a `uid` query parameter that is a UUID (400 naming what
is missing); an unknown session 401; the request faults (401, blocked, cf, 403, 404, 429,
5xx); then `uid` (and an `x-userid` cookie, when sent) must be the account's user id
(403 `{"error":{"code":7,…}}`).

Exchange: `session.create` → `session.created` + `conversation.attached`;
`conversation.item.create` (stored, no answer) and `response.create` → the turn's events
(`mgwevents`) and `response.done`. A protocol mistake gets an `error` event (code 3; code 5
for an unknown conversation; code 7 for a mode the tier lacks) and the socket stays open.
`ping` events are accepted and ignored. Each turn charges one query of the session's
`model` window; an exhausted window is an `error` event, code 8, usage-limit message.
Every handshake and client message is recorded (messages as method `WS`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import chatbody, faults, gate, mgwevents, stream
from ..accounts import Account
from ..errors import RequestRejected
from ..responses import error_body
from ..state import SimState
from .chat import INBAND
from .common import accept_websocket, headers_of, sim_state

logger = logging.getLogger(__name__)

PATH = faults.MGW_PATH
TURN_KINDS = ("mgw-error", "mgw-session-ended", "code7", "code8", "usage-limit",
              "slow-first-byte", "slow-tokens", "stall", "drop", "malformed", "empty")
CAPABILITIES = ("conversation_attached", "custom_methods_v1")
X_GROK_FLAGS = ("use_chunk", "enable_side_by_side", "force_side_by_side",
                "enable_image_generation", "disable_text_follow_ups", "disable_artifact",
                "force_concise")
NEW_FLAGS = ("keep_context", "is_temporary", "disable_memory")
MALFORMED = '{"event":{"type":"response.chunk","chunk":{"text":'
USAGE_LIMIT = INBAND["usage-limit"]


async def mgw_listen(websocket: WebSocket) -> None:
    account = await accept_websocket(websocket, path=PATH, admit=_admit)
    if account is None:
        return
    state = sim_state(websocket)
    connection = _Connection(state, websocket, account)
    state.open_mgw_sockets += 1
    try:
        while not connection.closed:
            raw = await connection.receive()
            if raw is None:
                return
            await connection.handle(raw)
    except WebSocketDisconnect:
        return  # the client left mid-turn: what it missed is its own business
    finally:
        state.open_mgw_sockets -= 1


def _admit(state: SimState, websocket: WebSocket) -> Account:
    headers = headers_of(websocket)
    credential, problems = gate.sso_from(headers)
    problems += [name for name in ("origin", "user-agent") if not headers.get(name)]
    uid = websocket.query_params.get("uid")
    if not uid:
        problems.append("uid (query parameter)")
    elif not gate.check_request_id(uid):
        problems.append("uid (a UUID)")
    gate.reject_missing(problems)
    account = gate.account_for(state, credential)
    gate.raise_request_fault(state, account=account, path=PATH, kinds=faults.REQUEST_KINDS)
    cookie_uid = gate.parse_cookie(headers.get("cookie", "")).get("x-userid")
    for name, value in (("uid", uid), ("x-userid cookie", cookie_uid)):
        if value is not None and not _same_uuid(value, account.user_id):
            raise RequestRejected(status=403, body=error_body(
                code=7, message=f"{name} does not match the session's user id"))
    return account


def _same_uuid(value: str, user_id: str) -> bool:
    try:
        return str(uuid.UUID(value)) == user_id
    except ValueError:
        return False


@dataclass(kw_only=True)
class _Session:
    id: str
    model: str
    images: int


@dataclass(kw_only=True)
class _Item:
    prompt: str
    file_ids: tuple[str, ...]


class _Problem(Exception):
    def __init__(self, message: str, *, code: int = 3) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Connection:
    """One accepted socket: its session, the pending user item, the turn loop."""

    def __init__(self, state: SimState, websocket: WebSocket, account: Account) -> None:
        self.state = state
        self.websocket = websocket
        self.account = account
        self.session: _Session | None = None
        self.item: _Item | None = None
        self.closed = False
        self._errors = 0

    async def receive(self) -> str | None:
        """The next client message (recorded), or None when the client has gone."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            self.closed = True
            return None
        raw = message.get("text")
        if raw is None:
            raw = (message.get("bytes") or b"").decode("utf-8", "replace")
        self.state.recorder.record(method="WS", path=PATH, query="", headers={},
                                   body=raw.encode(), content_type="application/json")
        return raw

    async def send(self, text: str) -> None:
        await self.websocket.send_text(text)

    async def handle(self, raw: str) -> None:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            message = None
        event = message.get("event") if isinstance(message, dict) else None
        try:
            if not isinstance(message, dict) or not isinstance(event, dict) or not isinstance(
                event.get("type"), str
            ):
                raise _Problem("expected {\"event\": {\"type\": …}}")
            handler = self._handlers().get(event["type"])
            if handler is None:
                raise _Problem(f"unknown event type {event['type']!r}")
            await handler(message, event)
        except _Problem as problem:
            await self._error(problem.code, problem.message)

    def _handlers(self) -> dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]]:
        return {"ping": self._ping, "session.create": self._session_create,
                "conversation.item.create": self._item_create,
                "response.create": self._response_create}

    async def _error(self, code: int, message: str) -> None:
        self._errors += 1
        session_id = self.session.id if self.session else None
        await self.send(mgwevents.error(session_id, code=code, message=message,
                                        event_id=f"evt_err_{self._errors}"))

    async def _ping(self, message: dict[str, Any], event: dict[str, Any]) -> None:
        return None

    async def _session_create(self, message: dict[str, Any], event: dict[str, Any]) -> None:
        problems = []
        event_id = event.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            problems.append("event.event_id")
        session = event.get("session")
        session = session if isinstance(session, dict) else {}
        model = session.get("model")
        if model not in chatbody.CHAT_MODES:
            problems.append(f"session.model (one of {', '.join(chatbody.CHAT_MODES)})")
        x_grok = session.get("x_grok")
        x_grok = x_grok if isinstance(x_grok, dict) else {}
        capabilities = x_grok.get("protocol_capabilities")
        if not isinstance(capabilities, list) or not set(CAPABILITIES) <= set(capabilities):
            problems.append("session.x_grok.protocol_capabilities (" + ", ".join(CAPABILITIES)
                            + ")")
        for flag in X_GROK_FLAGS:
            if not isinstance(x_grok.get(flag), bool):
                problems.append(f"session.x_grok.{flag} (boolean)")
        if x_grok.get("use_chunk") is False:
            problems.append("session.x_grok.use_chunk (must be true)")
        count = x_grok.get("image_generation_count")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
            problems.append("session.x_grok.image_generation_count (1-10)")
        continued = message.get("session_id")
        if continued is None:
            problems += [f"session.x_grok.{flag} (boolean)" for flag in NEW_FLAGS
                         if not isinstance(x_grok.get(flag), bool)]
        elif not isinstance(continued, str) or not continued:
            problems.append("session_id (a conversation id)")
        else:
            if x_grok.get("conversation_id") != continued:
                problems.append("session.x_grok.conversation_id (equal to session_id)")
            if x_grok.get("load_existing") is not True:
                problems.append("session.x_grok.load_existing (true)")
        if problems:
            raise _Problem("missing or invalid: " + ", ".join(problems))
        assert isinstance(model, str) and isinstance(event_id, str)
        if model not in self.account.windows:
            raise _Problem(f"mode {model} is not available on a {self.account.tier} account",
                           code=7)
        if continued is None:
            session_id = self.state.new_id("conversation")
            self.account.conversations[session_id] = []
        elif continued not in self.account.conversations:
            raise _Problem(f"conversation {continued} not found", code=5)
        else:
            session_id = continued
        images = count if isinstance(count, int) and x_grok.get("enable_image_generation") else 0
        self.session = _Session(id=session_id, model=model, images=images)
        self.item = None
        await self.send(mgwevents.session_created(session_id, client_event_id=event_id,
                                                  model=model))
        await self.send(mgwevents.conversation_attached(session_id))

    def _current(self, message: dict[str, Any], what: str) -> _Session:
        if self.session is None:
            raise _Problem(f"{what} before session.create")
        if message.get("session_id") != self.session.id:
            raise _Problem(f"session_id (must be {self.session.id})")
        return self.session

    async def _item_create(self, message: dict[str, Any], event: dict[str, Any]) -> None:
        session = self._current(message, "conversation.item.create")
        item = event.get("item")
        item = item if isinstance(item, dict) else {}
        problems = []
        if item.get("type") != "message":
            problems.append("event.item.type (message)")
        if item.get("role") != "user":
            problems.append("event.item.role (user)")
        x_grok = item.get("x_grok")
        x_grok = x_grok if isinstance(x_grok, dict) else {}
        if not isinstance(x_grok.get("client_message_id"), str) or not x_grok[
            "client_message_id"
        ]:
            problems.append("event.item.x_grok.client_message_id")
        prompt, file_ids, chunk_problems = _input_chunks(x_grok.get("input_chunks"))
        problems += chunk_problems
        for holder, name in ((event, "event"), (item, "event.item")):
            ids = holder.get("file_attachment_ids")
            if ids is not None and not (isinstance(ids, list)
                                        and all(isinstance(i, str) for i in ids)):
                problems.append(f"{name}.file_attachment_ids (list of ids)")
        parent = event.get("parent_response_id")
        if parent is not None and not isinstance(parent, str):
            problems.append("event.parent_response_id (a response id)")
        if problems:
            raise _Problem("missing or invalid: " + ", ".join(problems))
        earlier = self.account.conversations.get(session.id, [])
        if earlier and parent != earlier[-1]:
            raise _Problem(f"parent_response_id must be the last response of conversation "
                           f"{session.id} ({earlier[-1]})")
        if not earlier and parent is not None:
            raise _Problem(f"parent_response_id {parent}: conversation {session.id} has no "
                           "responses yet")
        self.item = _Item(prompt=prompt, file_ids=file_ids)

    async def _response_create(self, message: dict[str, Any], event: dict[str, Any]) -> None:
        session = self._current(message, "response.create")
        if self.item is None:
            raise _Problem("response.create before conversation.item.create")
        item, self.item = self.item, None
        await self._turn(session, item)

    async def _turn(self, session: _Session, item: _Item) -> None:
        state, account = self.state, self.account
        window = account.windows[session.model]
        if window.remaining(now=state.now(), scale=state.scale) < 1:
            raise _Problem(USAGE_LIMIT[1], code=USAGE_LIMIT[0])
        fired = state.faults.take(kinds=TURN_KINDS, credential=account.credential, path=PATH,
                                  standing=account.standing_faults)
        response_id = state.new_id("response")
        inband = next((kind for kind in ("mgw-error", *INBAND) if kind in fired), None)
        ended = "mgw-session-ended" in fired
        if inband is not None:
            code, text = _inband(fired[inband])
            events = [mgwevents.error(session.id, code=code, message=text,
                                      event_id=f"evt_err_{response_id[:8]}")]
        elif "empty" in fired:  # the turn completes with no answer at all
            events = [mgwevents.response_done(session.id, response_id=response_id)]
        else:
            images = session.images if mgwevents.wants_images(
                item.prompt, enabled=bool(session.images)) else 0
            events, _ = mgwevents.turn(state, account=account, session_id=session.id,
                                       model=session.model, prompt=item.prompt,
                                       response_id=response_id, images=images)
            window.charge(now=state.now(), scale=state.scale)
            if ended:
                events.append(mgwevents.session_ended(session.id, response_id=response_id))
            else:
                events.append(mgwevents.response_done(session.id, response_id=response_id))
                account.conversations.setdefault(session.id, []).append(response_id)
        logger.debug("mgw turn mode=%s faults=%s", session.model, ",".join(fired))
        plan = stream.Delivery.from_faults(fired, token_delay_ms=state.options.token_delay_ms,
                                           frame_count=len(events))
        await self._deliver(events, plan)
        if ended and not self.closed:
            self.closed = True
            await self.websocket.close(code=1000, reason="session ended")

    async def _deliver(self, events: list[str], plan: stream.Delivery) -> None:
        if plan.malformed_at is not None:
            events.insert(min(plan.malformed_at, len(events)), MALFORMED)
        if plan.first_byte_delay:
            await asyncio.sleep(plan.first_byte_delay)
        for index, text in enumerate(events):
            if plan.drop_after is not None and index >= plan.drop_after:
                self.closed = True
                await _abort(self.websocket)
                return
            if plan.stall_after is not None and index >= plan.stall_after:
                while await self.receive() is not None:
                    continue
                return
            if plan.frame_delay and index:
                await asyncio.sleep(plan.frame_delay)
            await self.send(text)


def _input_chunks(chunks: Any) -> tuple[str, tuple[str, ...], list[str]]:
    """(prompt, mentioned file ids, problems) of `item.x_grok.input_chunks` (§6.2): file
    mentions, then exactly one text chunk, last."""
    name = "event.item.x_grok.input_chunks"
    if not isinstance(chunks, list) or not chunks:
        return "", (), [f"{name} (file mentions then one text chunk)"]
    problems: list[str] = []
    last = chunks[-1]
    text = last.get("text") if isinstance(last, dict) else None
    prompt = text.get("text") if isinstance(text, dict) else None
    if not isinstance(prompt, str):
        problems.append(f"{name}[-1] ({{\"text\": {{\"text\": …}}}})")
        prompt = ""
    file_ids: list[str] = []
    for index, chunk in enumerate(chunks[:-1]):
        mention = chunk.get("mention") if isinstance(chunk, dict) else None
        target = mention.get("target") if isinstance(mention, dict) else None
        file_mention = target.get("file_mention") if isinstance(target, dict) else None
        file_id = file_mention.get("file_id") if isinstance(file_mention, dict) else None
        if isinstance(file_id, str) and file_id:
            file_ids.append(file_id)
        else:
            problems.append(f"{name}[{index}] (mention.target.file_mention.file_id)")
    return prompt, tuple(file_ids), problems


def _inband(rule: faults.FaultRule) -> tuple[int, str]:
    if rule.kind == "mgw-error":
        code = rule.params.get("code", 13)
        return (int(code) if isinstance(code, int | str) and str(code).isdigit() else 13,
                str(rule.params.get("message", "Internal error")))
    return INBAND[rule.kind]


async def _abort(websocket: WebSocket) -> None:
    """End the TCP connection without a close frame (the client sees code 1006).

    The ASGI server's protocol object (which owns the transport) is reached through the
    `send` callable Starlette wraps; without one the socket is closed with 1011 instead.
    """
    transport = _transport_of(getattr(websocket, "_send", None))
    if transport is not None:
        transport.abort()
        return
    await websocket.close(code=1011)


def _transport_of(send: Any) -> Any:
    seen: set[int] = set()
    pending = [send]
    while pending:
        candidate = pending.pop()
        if candidate is None or id(candidate) in seen:
            continue
        seen.add(id(candidate))
        transport = getattr(getattr(candidate, "__self__", None), "transport", None)
        if callable(getattr(transport, "abort", None)):
            return transport
        for cell in getattr(candidate, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if callable(value):
                pending.append(value)
    return None
