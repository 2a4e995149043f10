"""Frozen dataclass instances built without their ``__init__``.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, which is
not free where one is made per event or per job. ``built`` fills the instance's
``__dict__`` at once instead; the caller gives every field (the tests compare what it
builds with the class's own constructor, so a field added later fails them).
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def built(cls: type[T], **fields: Any) -> T:
    instance: T = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance
