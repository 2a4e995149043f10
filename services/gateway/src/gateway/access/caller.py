"""The authenticated caller of one request: a client key, or nobody in particular."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from grok2api_storage.records import ClientKeyRecord


@dataclasses.dataclass(frozen=True, slots=True)
class Caller:
    key: ClientKeyRecord | None
    """None: a master key (``app.api_key``), or an open API."""

    UNRESTRICTED: ClassVar[Caller]

    @property
    def key_id(self) -> str | None:
        return self.key.id if self.key is not None else None

    @property
    def owner(self) -> str:
        """Who owns what this caller creates (media jobs): the key id, "" for nobody."""
        return self.key.id if self.key is not None else ""

    @property
    def account_tags(self) -> tuple[str, ...]:
        """Accounts this caller may spend: only those carrying one of these; () for any."""
        tags = self.key.limits.account_tags if self.key is not None else None
        return tags or ()

    def allows(self, model: str) -> bool:
        allowed = self.key.limits.allowed_models if self.key is not None else None
        return allowed is None or model in allowed


Caller.UNRESTRICTED = Caller(key=None)
