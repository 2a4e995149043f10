"""`POST /rest/app-chat/conversations/new`: the streamed answer (grok-protocol.md §3-5, §11-13)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp

from .. import chatbody, compose, faults, frames, gate, responses, stream
from ..accounts import Account
from ..quota import QuotaWindow
from ..state import SimState
from .common import headers_of, parse_json, read_recorded, sim_state

logger = logging.getLogger(__name__)

INBAND = {
    "code7": (7, "Request rejected by anti-bot rules."),
    "code8": (8, "Too many requests"),
    "usage-limit": (8, "You've reached your usage limit. Please try again later."),
}


async def new_conversation(request: Request) -> ASGIApp:
    """`POST /rest/app-chat/conversations/new`."""
    return await _answer(request, conversation_id=None)


async def continue_conversation(request: Request) -> ASGIApp:
    """`POST /rest/app-chat/conversations/{id}/responses` (Go3 continuation, §3.2)."""
    return await _answer(request, conversation_id=request.path_params["conversation_id"])


async def _answer(request: Request, *, conversation_id: str | None) -> ASGIApp:
    state = sim_state(request)
    body = await read_recorded(request)
    path = request.scope["path"]
    account = gate.admit(state, headers=headers_of(request), path=path)
    payload = parse_json(body)
    chat = chatbody.parse(payload)
    if conversation_id is not None:
        _check_continuation(account, conversation_id, payload)
    _check_known_posts(account, chat)
    _check_own_uploads(state, account, chat)
    window = _open_window(state, account=account, mode=chat.mode)
    kinds = faults.STREAM_KINDS if chat.kind == "chat" else (*faults.STREAM_KINDS, "moderated")
    fired = state.faults.take(kinds=kinds, credential=account.credential, path=path,
                              standing=account.standing_faults)
    inband = next((k for k in INBAND if k in fired), None)
    if inband is not None:
        code, message = INBAND[inband]
        shape = str(fired[inband].params.get("shape", "top"))
        if shape not in frames.INBAND_SHAPES:
            shape = "top"
        lines = [frames.inband_error(code=code, message=message, shape=shape,
                                     response_id=state.new_id("response"))]
        if conversation_id is None:
            lines.insert(0, frames.conversation(conversation_id=state.new_id("conversation"),
                                                temporary=chat.temporary))
    else:
        answer = compose.compose(state, account=account, request=chat,
                                 moderated="moderated" in fired, conversation_id=conversation_id)
        lines = answer.frames
        if "empty" not in fired:
            window.charge(now=state.now(), scale=state.scale)
    logger.debug("chat kind=%s mode=%s faults=%s", chat.kind, chat.mode, ",".join(fired))
    delivery = stream.Delivery.from_faults(
        fired, token_delay_ms=state.options.token_delay_ms, frame_count=len(lines)
    )
    return stream.NdjsonStream(lines, delivery)


def _check_continuation(account: Account, conversation_id: str, payload: dict) -> None:
    """A continuation names a conversation of this account and one of its responses."""
    responses_so_far = account.conversations.get(conversation_id)
    if responses_so_far is None:
        raise responses.not_found("conversation")
    parent = payload.get("responseId")
    if not isinstance(parent, str) or parent not in responses_so_far:
        raise responses.bad_request(
            "missing or invalid body fields: responseId (a response of this conversation)"
        )


def _open_window(state: SimState, *, account: Account, mode: str) -> QuotaWindow:
    """The account's window for `mode`: 403 when the tier has none, 429 when exhausted."""
    window = account.windows.get(mode)
    if window is None:
        raise responses.RequestRejected(
            status=403,
            body=responses.error_body(
                code=7, message=f"mode {mode} is not available on a {account.tier} account"
            ),
        )
    now, scale = state.now(), state.scale
    if window.remaining(now=now, scale=scale) < 1:
        raise responses.rate_limited(retry_after=window.retry_after(now=now, scale=scale))
    return window


def _check_known_posts(account: Account, chat: chatbody.ChatRequest) -> None:
    parent = (chat.video_config or {}).get("parentPostId")
    if parent and parent not in account.posts:
        raise responses.bad_request(
            f"parentPostId {parent} is not a media post of this account (create it first)"
        )


def _check_own_uploads(state: SimState, account: Account, chat: chatbody.ChatRequest) -> None:
    """`mediaGenInput` names uploads by fileMetadataId: each must be a file of this account."""
    owned = {asset.asset_id for asset in state.assets.owned_by(account.user_id)}
    unknown = [asset for asset in chat.input_assets if asset not in owned]
    if unknown:
        raise responses.bad_request(
            f"inputAssets {', '.join(unknown)} are not files this account uploaded"
        )
