"""The translator's pieces → Anthropic's text and thinking, cut where the request says.

The web upstream takes no ``max_tokens`` or ``stop_sequences``, so the gateway applies
both to what it passes on: output (thinking and text) stops at ``max_tokens`` (counted
with the gateway's token estimate, ``chat.usage``), and text stops before the first stop
sequence. A tail of text that could still become a stop sequence is held back until the
next piece decides, so a stop sequence split across upstream reads is still found and
never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Literal

from ..chat import translate, usage

Kind = Literal["text", "thinking"]
TEXT: Final = "text"
THINKING: Final = "thinking"
Piece = tuple[Kind, str]


class Shaper:
    def __init__(
        self, *, tokens: usage.TokenCounter, max_tokens: int, stop_sequences: Sequence[str]
    ) -> None:
        self._tokens = tokens
        self._max = max_tokens
        self._stops = tuple(stop_sequences)
        self._held = ""
        self.used = 0
        self.stop_reason: str | None = None
        """``max_tokens`` or ``stop_sequence`` once the output was cut; else None."""
        self.stop_sequence: str | None = None
        self.text: list[str] = []
        self.thinking: list[str] = []

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def feed(self, pieces: Iterable[translate.Piece]) -> list[Piece]:
        """The pieces to show of the translator's ``pieces`` (none once cut)."""
        out: list[Piece] = []
        for field, text in pieces:
            if self.done:
                break
            if field == translate.REASONING:
                out.extend(self._budgeted(THINKING, text))
            else:
                out.extend(self._text(text))
        return out

    def finish(self) -> list[Piece]:
        """The text held back, once the upstream text has ended."""
        held, self._held = self._held, ""
        return [] if self.done else self._budgeted(TEXT, held)

    def _text(self, text: str) -> list[Piece]:
        if not self._stops:
            return self._budgeted(TEXT, text)
        buffer = self._held + text
        found = [(buffer.find(stop), stop) for stop in self._stops if stop in buffer]
        if found:
            at, stop = min(found)
            self._held = ""
            out = self._budgeted(TEXT, buffer[:at])
            if not self.done:
                self.stop_reason, self.stop_sequence = "stop_sequence", stop
            return out
        keep = _partial_tail(buffer, self._stops)
        self._held = buffer[len(buffer) - keep :]
        return self._budgeted(TEXT, buffer[: len(buffer) - keep])

    def _budgeted(self, kind: Kind, text: str) -> list[Piece]:
        if not text:
            return []
        count = self._tokens.count(text)
        if self.used + count > self._max:
            text = self._tokens.head(text, self._max - self.used)
            self.used = self._max
            self.stop_reason = "max_tokens"
        else:
            self.used += count
        if not text:
            return []
        (self.thinking if kind == THINKING else self.text).append(text)
        return [(kind, text)]


def _partial_tail(buffer: str, stops: Sequence[str]) -> int:
    """Length of the longest end of ``buffer`` that begins some stop sequence."""
    longest = min(len(buffer), max(len(stop) for stop in stops) - 1)
    for size in range(longest, 0, -1):
        tail = buffer[-size:]
        if any(stop.startswith(tail) for stop in stops):
            return size
    return 0
