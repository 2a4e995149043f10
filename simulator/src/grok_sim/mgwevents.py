"""Server events of the mgw WebSocket chat (grok-protocol.md §6.3, HEAD generation).

Every frame is `{"session_id": <id>, "event": {"type": …, "event_id": …, …}}`. One turn's
answer, from the same reply model as the REST stream (`compose.choose_reply`):

- reasoning tokens (expert/heavy, or scripted): `response.chunk` with
  `chunk.text {text, channel: "CHANNEL_ANALYSIS"}`;
- search: `response.chunk` `tool_usage_card {tool_usage_card_id, web_search.args.query}`,
  `response.chunk` `tool_result {tool_call_id, web_search.webpages[{url, title, snippet}]}`;
- answer tokens: `response.chunk` `chunk.text {text, channel: "CHANNEL_ASSISTANT_RESPONSE"}`;
- search citations after the answer text: one `response.chunk`
  `render_citation {id, kind: "CITATION_KIND_WEB_PAGE", url, citation_id}` per result;
- images (`Drawing:` or `[[sim:image]]` with `enable_image_generation`): per image one
  `response.grok.output` `{output: {card_attachment: <card>}}` (the REST path's
  `image_chunk` card, progress 100, its files downloadable), then a short answer text;
- `response.done` `{response: {id, status: "completed"}}`.
"""

from __future__ import annotations

from typing import Any

import orjson

from . import compose, imaging, replies
from .accounts import Account
from .state import SimState

ANALYSIS = "CHANNEL_ANALYSIS"
ASSISTANT = "CHANNEL_ASSISTANT_RESPONSE"
IMAGE_TEXT = "Here are the generated images."


def frame(session_id: str | None, event: dict[str, Any]) -> str:
    body: dict[str, Any] = {"event": event} if session_id is None else {
        "session_id": session_id, "event": event}
    return orjson.dumps(body).decode()


def error(session_id: str | None, *, code: int, message: str, event_id: str) -> str:
    return frame(session_id, {"type": "error", "event_id": event_id,
                              "error": {"code": code, "message": message}})


def session_created(session_id: str, *, client_event_id: str, model: str) -> str:
    return frame(session_id, {"type": "session.created", "event_id": f"evt_sc_{session_id[:8]}",
                              "client_event_id": client_event_id,
                              "session": {"id": session_id, "model": model}})


def conversation_attached(session_id: str) -> str:
    return frame(session_id, {"type": "conversation.attached",
                              "event_id": f"evt_ca_{session_id[:8]}",
                              "conversation": {"id": session_id}})


def session_ended(session_id: str, *, response_id: str) -> str:
    return frame(session_id, {"type": "session.ended", "event_id": f"evt_se_{response_id[:8]}",
                              "reason": "session ended by the server"})


def wants_images(prompt: str, *, enabled: bool) -> bool:
    return enabled and (prompt.lstrip().startswith("Drawing:") or "[[sim:image]]" in prompt)


def turn(
    state: SimState, *, account: Account, session_id: str, model: str, prompt: str,
    response_id: str, images: int,
) -> tuple[list[str], str]:
    """The answer events of one turn (without `response.done`) and the answer text."""
    events = _Events(session_id, response_id)
    if images:
        for _ in range(images):
            image_id, _part, final = imaging.generated_image(state, account=account)
            card = {"id": image_id[:8], "type": "render_generated_image",
                    "cardType": "generated_image_card",
                    "image_chunk": {"imageUuid": image_id, "imageUrl": final, "progress": 100,
                                    "moderated": False}}
            events.add("response.grok.output", output={"card_attachment": card})
        events.text(IMAGE_TEXT, channel=ASSISTANT)
        return events.out, IMAGE_TEXT
    reply = compose.choose_reply(state, account=account, message=prompt)
    reasoning = reply.reasoning
    if reasoning is None and model in compose.THINKING_MODES:
        reasoning = replies.default_reasoning(message=prompt, seed=state.options.seed)
    if reasoning:
        for piece in replies.split_tokens(reasoning):
            events.text(piece, channel=ANALYSIS)
    citations: list[dict[str, Any]] = []
    if reply.search is not None:
        query = reply.search or prompt[:80]
        card_id = state.new_id("tool-card")[:8]
        events.chunk({"tool_usage_card": {"tool_usage_card_id": card_id,
                                          "web_search": {"args": {"query": query}}}})
        pages = [
            {"url": f"https://example.com/search/{n + 1}?q={query.replace(' ', '+')}",
             "title": f"Result {n + 1} for {query}",
             "snippet": f"Simulated search result {n + 1}."}
            for n in range(compose.SEARCH_RESULTS)
        ]
        events.chunk({"tool_result": {"tool_call_id": card_id,
                                      "web_search": {"webpages": pages}}})
        for page in pages:
            citation_id = state.new_id("card")[:8]
            citations.append({"id": citation_id, "kind": "CITATION_KIND_WEB_PAGE",
                              "url": page["url"], "citation_id": citation_id})
    for piece in replies.split_tokens(reply.text):
        events.text(piece, channel=ASSISTANT)
    for citation in citations:
        events.chunk({"render_citation": citation})
    return events.out, reply.text


def response_done(session_id: str, *, response_id: str) -> str:
    return frame(session_id, {"type": "response.done", "event_id": f"evt_rd_{response_id[:8]}",
                              "response": {"id": response_id, "status": "completed"}})


class _Events:
    """Numbered events of one response."""

    def __init__(self, session_id: str, response_id: str) -> None:
        self.session_id = session_id
        self.response_id = response_id
        self.out: list[str] = []

    def add(self, kind: str, **fields: Any) -> None:
        event = {"type": kind, "event_id": f"evt_{self.response_id[:8]}_{len(self.out)}",
                 "response_id": self.response_id, **fields}
        self.out.append(frame(self.session_id, event))

    def chunk(self, chunk: dict[str, Any]) -> None:
        self.add("response.chunk", chunk=chunk)

    def text(self, piece: str, *, channel: str) -> None:
        self.chunk({"text": {"text": piece, "channel": channel}})
