"""The admin audit log: one entry per change, and a page of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One change made through the admin panel or its API.

    ``actor`` says who (``session:<id prefix>`` or ``bearer``), ``client`` from which
    address; ``detail`` holds JSON values the caller chose, never a secret.
    """

    at: datetime
    action: str
    target: str
    actor: str
    client: str
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first; ``total`` ignores paging."""

    items: tuple[AuditEntry, ...]
    total: int
    offset: int
    limit: int
