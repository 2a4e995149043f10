"""The ``x-statsig-id`` header, Python v1.5+/v2.x flavour (protocol §2.3).

Static: base64 of a fixed TypeError text. Dynamic: a new value per request, 50/50
one of two TypeError texts with random identifiers, as the browser bundle produces.
"""

from __future__ import annotations

import base64
import random
import string

_STATIC_TEXT = "e:TypeError: Cannot read properties of undefined (reading 'childNodes')"
STATIC_STATSIG_ID = base64.b64encode(_STATIC_TEXT.encode()).decode()

_LOWER_DIGITS = string.ascii_lowercase + string.digits
_LOWER = string.ascii_lowercase
# Decoy identifiers, not secrets: a plain PRNG (no system call per character).
_random = random.Random()


def static_id() -> str:
    """The fixed statsig id sent when chat.dynamic_statsig is off."""
    return STATIC_STATSIG_ID


def dynamic_id() -> str:
    """A fresh statsig id; never the same twice in practice."""
    if _random.getrandbits(1):
        key = "".join(_random.choices(_LOWER_DIGITS, k=5))
        text = f"e:TypeError: Cannot read properties of null (reading 'children['{key}']')"
    else:
        key = "".join(_random.choices(_LOWER, k=10))
        text = f"e:TypeError: Cannot read properties of undefined (reading '{key}')"
    return base64.b64encode(text.encode()).decode()


def statsig_id(*, dynamic: bool) -> str:
    """The value for one request."""
    return dynamic_id() if dynamic else static_id()
