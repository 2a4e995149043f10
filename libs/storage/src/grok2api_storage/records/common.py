"""What every record module shares: the "leave unchanged" marker of patches, the clock."""

from __future__ import annotations

import enum
from datetime import UTC, datetime


class Unset(enum.Enum):
    """Marks a patch field as "leave unchanged" (``None`` is a real value for some fields)."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


def utcnow() -> datetime:
    return datetime.now(UTC)
