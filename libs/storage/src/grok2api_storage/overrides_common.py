"""Validation of settings overrides, shared by both stores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import errors

MAX_KEY_LENGTH = 200


def checked(values: Mapping[str, Any], *, updated_by: str) -> dict[str, Any]:
    """The overrides, keys trimmed; ``InvalidRecordError`` for a bad key or a value that
    JSON cannot hold."""
    if not updated_by.strip() or len(updated_by) > MAX_KEY_LENGTH:
        raise errors.InvalidRecordError("updated_by must name who made the change")
    checked_values: dict[str, Any] = {}
    for key, value in values.items():
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or " " in key:
            raise errors.InvalidRecordError(f"{key!r} is not a dotted settings key")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise errors.InvalidRecordError(f"the value for {key} is not JSON") from exc
        checked_values[key] = value
    return checked_values
