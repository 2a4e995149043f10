"""What Anthropic's content blocks need besides their text: thinking signatures and ids."""

from __future__ import annotations

import base64
import hashlib


def signature(thinking: str) -> str:
    """An opaque signature for a thinking block. Anthropic's clients keep it and send the
    block back; the gateway does not check it (earlier thinking is not sent upstream)."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()
