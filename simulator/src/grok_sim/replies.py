"""What the simulated model answers: scripted replies, prompt directives, default text.

Precedence for one chat request: a `[[sim:reply=...]]` directive in the prompt (the last
one wins), then the next queued scripted reply for the account, then the next global one,
then a deterministic reply derived from (message, seed).

Directive syntax (one per line or inline; JSON object inside):
    [[sim:reply={"text": "...", "reasoning": "...", "search": "query"}]]
    [[sim:search]]  or  [[sim:search=some query]]   -> simulate a web search
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_REPLY_MARK = "[[sim:reply="
_SEARCH = re.compile(r"\[\[sim:search(?:=([^\]]*))?\]\]")
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")

_WORDS = (
    "the", "simulated", "grok", "answer", "is", "deterministic", "and", "offline", "model",
    "replies", "with", "clear", "steps", "for", "your", "question", "about", "data", "time",
    "system", "result", "value", "example", "quick", "bright", "river", "stone", "cloud",
    "signal", "garden", "orbit", "paper", "lamp", "window", "market", "engine", "forest",
)


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One answer: final text, optional reasoning text, optional simulated search query."""

    text: str
    reasoning: str | None = None
    search: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Reply:
        if not isinstance(data.get("text", ""), str):
            raise ValueError("reply text must be a string")
        reasoning = data.get("reasoning")
        search = data.get("search")
        if search is True:
            search = ""
        return cls(
            text=str(data.get("text", "")),
            reasoning=str(reasoning) if reasoning is not None else None,
            search=str(search) if search not in (None, False) else None,
        )


class ReplyScript:
    """Queues of scripted replies: one global, one per account credential."""

    def __init__(self) -> None:
        self._global: deque[Reply] = deque()
        self._per_account: dict[str, deque[Reply]] = {}

    def push(self, reply: Reply, *, account: str | None = None, times: int = 1) -> None:
        queue = self._global if account is None else self._per_account.setdefault(account, deque())
        queue.extend([reply] * times)

    def pop(self, *, account: str) -> Reply | None:
        queue = self._per_account.get(account)
        if queue:
            return queue.popleft()
        return self._global.popleft() if self._global else None

    def pending(self) -> dict[str, int]:
        counts = {"global": len(self._global)}
        counts.update({"account": sum(len(q) for q in self._per_account.values())})
        return counts

    def clear(self) -> None:
        self._global.clear()
        self._per_account.clear()


def directive_reply(message: str) -> Reply | None:
    """The reply named by the last `[[sim:reply=...]]` directive in `message`, if any."""
    start = message.rfind(_REPLY_MARK)
    if start < 0:
        return None
    payload = message[start + len(_REPLY_MARK) :]
    end = _json_object_end(payload)
    if end is None:
        return None
    try:
        data = orjson.loads(payload[:end])
    except orjson.JSONDecodeError:
        return None
    return Reply.from_mapping(data) if isinstance(data, dict) else None


def directive_search(message: str) -> str | None:
    """The query of a `[[sim:search]]` directive ("" when none given), else None."""
    matches = _SEARCH.findall(message)
    return matches[-1].strip() if matches else None


def default_reply(*, message: str, seed: int, words: int) -> Reply:
    """A deterministic answer for (message, seed) of `words` words."""
    count = max(words, 1)
    digest = b""
    block = 0
    while len(digest) < count:
        # Indexing words by digest bytes is far cheaper than seeding a Random per request.
        digest += hashlib.blake2b(f"{seed}\x00{block}\x00{message}".encode()).digest()
        block += 1
    chosen = [_WORDS[byte % len(_WORDS)] for byte in digest[:count]]
    text = " ".join(chosen).capitalize() + "."
    return Reply(text=text)


def default_reasoning(*, message: str, seed: int) -> str:
    """Deterministic reasoning text used by thinking modes when none is scripted."""
    rng = _rng(message, seed + 1)
    topic = " ".join(rng.choice(_WORDS) for _ in range(4))
    return f"Thinking about the request. Considering {topic}. Preparing the answer."


def split_tokens(text: str) -> list[str]:
    """Split text into stream tokens (a word or a punctuation run, with leading whitespace)."""
    return _TOKEN.findall(text) or ([text] if text else [])


def _rng(message: str, seed: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}\x00{message}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _json_object_end(text: str) -> int | None:
    """Index just past the JSON object at the start of `text` (string-aware brace match)."""
    depth = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
        elif depth == 0 and not char.isspace():
            return None
    return None
