"""grok_web chat events → OpenAI output pieces (content, reasoning, tool calls).

One ``Translator`` per request, fed every upstream event in order. It strips
``chat.filter_tags``, routes reasoning to ``reasoning_content`` or inline ``<think>`` tags
(or drops it when thinking is off), renders citations and generated media as markdown
links, and runs the tool sieve over answer text when tools were declared.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Sequence
from typing import Literal

from grok_web import events as ev

from . import tag_filter, tool_parse, tool_sieve

log = logging.getLogger(__name__)

CONTENT = "content"
REASONING = "reasoning_content"
Piece = tuple[str, str]
ReasoningMode = Literal["field", "think_tags", "off"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ending:
    pieces: list[Piece]
    tool_calls: list[tool_parse.ParsedCall]
    finish_reason: str


class Translator:
    def __init__(
        self,
        *,
        filter_tags: Sequence[str],
        reasoning: ReasoningMode,
        declared_tools: Collection[str] = (),
    ):
        self._text_filter = tag_filter.TagFilter(tags=filter_tags)
        self._reasoning_filter = tag_filter.TagFilter(tags=filter_tags)
        self._reasoning = reasoning
        self._sieve = tool_sieve.ToolSieve(declared=declared_tools) if declared_tools else None
        self._raw_text: list[str] = []
        self._think_open = False
        self.content: list[str] = []
        self.reasoning_text: list[str] = []

    def feed(self, event: object) -> list[Piece]:
        """Pieces to emit for one upstream event (often one, sometimes none)."""
        match event:
            case ev.TextDelta(text=text):
                self._raw_text.append(text)
                return self._answer(self._text_filter.feed(text))
            case ev.ReasoningDelta(text=text):
                return self._think(self._reasoning_filter.feed(text))
            case ev.Citation(number=number, url=url):
                return self._answer(f" [[{number}]]({url})")
            case ev.ToolUsageCard():
                return self._think(_card_line(event))
            case ev.ImageFinal(url=url) if url:
                return self._answer(f"\n![image]({url})\n")
            case ev.VideoFinal(url=url):
                return self._answer(f"\n[video]({url})\n")
            case ev.Final():
                return self._final(event)
            case ev.StreamError(code=code):
                log.warning("upstream_stream_error code=%s", code)
        return []

    def finish(self) -> Ending:
        """What remains once the upstream stream ended, and why it ended."""
        pieces = self._answer(self._text_filter.flush())
        if self._think_open:
            pieces.extend(self._close_think())
        calls: list[tool_parse.ParsedCall] = []
        if self._sieve is not None:
            rest, calls = self._sieve.finish()
            if rest:
                self.content.append(rest)
                pieces.append((CONTENT, rest))
        return Ending(
            pieces=pieces, tool_calls=calls, finish_reason="tool_calls" if calls else "stop"
        )

    def _answer(self, text: str) -> list[Piece]:
        if not text:
            return []
        pieces = self._close_think() if self._think_open else []
        if self._sieve is not None:
            text = self._sieve.feed(text)
            if not text:
                return pieces
        self.content.append(text)
        pieces.append((CONTENT, text))
        return pieces

    def _think(self, text: str) -> list[Piece]:
        if not text or self._reasoning == "off":
            return []
        self.reasoning_text.append(text)
        if self._reasoning == "field":
            return [(REASONING, text)]
        if self.content:
            # Reasoning after answer text started is not shown (it would split the answer).
            return []
        if not self._think_open:
            self._think_open = True
            text = "<think>\n" + text
        return [(CONTENT, text)]

    def _close_think(self) -> list[Piece]:
        self._think_open = False
        return [(CONTENT, "\n</think>\n\n")]

    def _final(self, final: ev.Final) -> list[Piece]:
        streamed = "".join(self._raw_text)
        if final.message and len(final.message) > len(streamed):
            if final.message.startswith(streamed):
                suffix = final.message[len(streamed) :]
                self._raw_text.append(suffix)
                return self._answer(self._text_filter.feed(suffix))
        return []


def _card_line(card: ev.ToolUsageCard) -> str:
    detail = next((str(value) for value in card.args.values() if value), "")
    return f"\n[{card.tool_name}] {detail}\n" if detail else f"\n[{card.tool_name}]\n"
