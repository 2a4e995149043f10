"""The frames of one app-chat answer: text chat, image-in-chat, image edit, video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import frames, imaging, replies
from .accounts import Account
from .chatbody import ChatRequest
from .state import SimState

THINKING_MODES = ("expert", "heavy")
HEAVY_ROLLOUTS = ("Grok 4 Heavy Agent 1", "Grok 4 Heavy Agent 2")
SEARCH_RESULTS = 2


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The frames to stream and the ids they carry."""

    frames: list[bytes]
    conversation_id: str
    response_id: str


def compose(
    state: SimState, *, account: Account, request: ChatRequest, moderated: bool,
    conversation_id: str | None = None,
) -> Answer:
    """Frames of one answer; a new conversation unless `conversation_id` continues one."""
    user_id = state.new_id("user-response")
    response_id = state.new_id("response")
    head = [frames.user_response(user_response_id=user_id, message=request.message)]
    if conversation_id is None:
        conversation_id = state.new_id("conversation")
        head.insert(0, frames.conversation(conversation_id=conversation_id,
                                           temporary=request.temporary))
    account.conversations.setdefault(conversation_id, []).append(response_id)
    if request.kind == "video":
        body = imaging.video_frames(
            state, account=account, request=request, response_id=response_id,
            parent_id=user_id, moderated=moderated,
        )
    elif request.kind == "image_edit" or _wants_images(request):
        body = imaging.image_frames(
            state, account=account, request=request, response_id=response_id,
            parent_id=user_id, moderated=moderated,
        )
    else:
        body = _text_frames(state, account=account, request=request, response_id=response_id,
                            parent_id=user_id)
    return Answer(frames=head + body, conversation_id=conversation_id, response_id=response_id)


def choose_reply(state: SimState, *, account: Account, message: str) -> replies.Reply:
    reply = replies.directive_reply(message) or state.script.pop(account=account.credential)
    if reply is None:
        reply = replies.default_reply(
            message=message, seed=state.options.seed, words=state.options.tokens_per_reply
        )
    search = replies.directive_search(message)
    if search is not None and reply.search is None:
        reply = replies.Reply(text=reply.text, reasoning=reply.reasoning, search=search)
    return reply


def _wants_images(request: ChatRequest) -> bool:
    return request.image_generation and (
        request.message.lstrip().startswith("Drawing:") or "[[sim:image]]" in request.message
    )


def _text_frames(
    state: SimState, *, account: Account, request: ChatRequest, response_id: str, parent_id: str
) -> list[bytes]:
    reply = choose_reply(state, account=account, message=request.message)
    out: list[bytes] = []
    reasoning = reply.reasoning
    if reasoning is None and request.mode in THINKING_MODES:
        reasoning = replies.default_reasoning(message=request.message, seed=state.options.seed)
    if reasoning:
        out.extend(_thinking(reasoning, mode=request.mode, response_id=response_id))
    cards: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    text = reply.text
    if reply.search is not None:
        query = reply.search or request.message[:80]
        search_frames, cards, results = _search(state, query=query, response_id=response_id)
        out.extend(search_frames)
        text = text + "".join(_render_tag(card) for card in cards)
    step = 2 if reply.search is not None else 1
    for index, piece in enumerate(replies.split_tokens(text)):
        out.append(frames.token(piece, response_id=response_id, thinking=False, tag="final",
                                step=step, first=index == 0))
    out.extend(
        [
            frames.model_response(
                response_id=response_id, parent_response_id=parent_id, message=text,
                cards=cards, web_search_results=results,
            ),
            frames.soft_stop(response_id=response_id),
            frames.final_metadata(response_id=response_id),
        ]
    )
    return out


def _thinking(reasoning: str, *, mode: str, response_id: str) -> list[bytes]:
    tokens = replies.split_tokens(reasoning)
    half = max(len(tokens) // 2, 1)
    out = []
    for index, piece in enumerate(tokens):
        rollout = None
        if mode == "heavy":
            rollout = HEAVY_ROLLOUTS[0] if index < half else HEAVY_ROLLOUTS[1]
        out.append(frames.token(piece, response_id=response_id, thinking=True, tag="header",
                                step=0, rollout_id=rollout, first=index == 0))
    return out


def _search(
    state: SimState, *, query: str, response_id: str
) -> tuple[list[bytes], list[dict[str, Any]], list[dict[str, Any]]]:
    card_id = state.new_id("tool-card")[:8]
    args = {"query": query, "num_results": 10}
    legacy = (
        f"<xai:tool_usage_card><xai:tool_usage_card_id>{card_id}</xai:tool_usage_card_id>"
        f"<xai:tool_name>web_search</xai:tool_name><xai:tool_args><![CDATA[{{\"query\":"
        f"\"{query}\"}}]]></xai:tool_args></xai:tool_usage_card>"
    )
    card_frame = frames.response({
        "token": legacy, "isThinking": True, "isSoftStop": False, "responseId": response_id,
        "messageTag": "tool_usage_card", "messageStepId": 1, "toolUsageCardId": card_id,
        "toolUsageCard": {"toolUsageCardId": card_id, "webSearch": {"args": args}},
    })
    results = [
        {
            "url": f"https://example.com/search/{n + 1}?q={query.replace(' ', '+')}",
            "title": f"Result {n + 1} for {query}",
            "preview": f"Simulated search result {n + 1}.",
            "siteName": "example.com",
        }
        for n in range(SEARCH_RESULTS)
    ]
    results_frame = frames.response({
        "webSearchResults": {"results": results}, "isThinking": True, "isSoftStop": False,
        "responseId": response_id, "messageTag": "raw_function_result", "messageStepId": 1,
        "toolUsageCardId": card_id,
    })
    cards = [
        {"id": state.new_id("card")[:8], "type": "render_inline_citation",
         "cardType": "citation_card", "url": result["url"]}
        for result in results
    ]
    out = [card_frame, results_frame]
    out.extend(frames.card_attachment(card, response_id=response_id) for card in cards)
    return out, cards, results


def _render_tag(card: dict[str, Any]) -> str:
    return (
        f' <grok:render card_id="{card["id"]}" card_type="{card["cardType"]}" '
        f'type="{card["type"]}"><argument name="citation_id">{card["id"]}</argument>'
        "</grok:render>"
    )
