"""Runtime settings overrides."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class SettingOverride:
    """A runtime settings change: dotted key (``chat.stream``) to a JSON value."""

    key: str
    value: Any
    updated_at: datetime
    updated_by: str
