"""Egresses (the ways out to the upstream) and their Cloudflare clearances."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from .. import masking
from .common import UNSET, Unset


class ClearanceSource(enum.StrEnum):
    """Where an egress's Cloudflare clearance came from."""

    MANUAL = "manual"
    """Pasted by an operator (management API)."""
    SOLVER = "solver"
    """Obtained by the configured solver (FlareSolverr) through the egress."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Clearance:
    """Cloudflare clearance of one egress: valid only from that egress's address and with
    the user agent it was obtained with. ``cookies`` is a Cookie header value
    (``name=value; name=value``), encrypted at rest and never shown by ``repr``."""

    cookies: str = dataclasses.field(repr=False)
    user_agent: str = ""
    obtained_at: datetime
    expires_at: datetime | None = None
    source: ClearanceSource = ClearanceSource.MANUAL


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressRecord:
    """A way out to the upstream: direct (``proxy_url == ""``) or through a proxy.

    Proxy URLs may carry credentials: they are encrypted at rest and left out of ``repr``;
    ``masked_proxy`` (scheme://host:port) is what listings and logs show."""

    id: str
    name: str
    proxy_url: str = dataclasses.field(repr=False)
    asset_proxy_url: str = dataclasses.field(repr=False)
    tags: tuple[str, ...]
    enabled: bool
    max_inflight: int
    """Concurrent upstream calls through this egress; 0 = no cap."""
    browser: str
    """The TLS/HTTP fingerprint to impersonate ("" = the setting ``security.browser``)."""
    user_agent: str
    """The User-Agent to send ("" = the clearance's, else ``security.user_agent``)."""
    clearance: Clearance | None
    created_at: datetime
    updated_at: datetime

    @property
    def masked_proxy(self) -> str:
        return masking.mask_proxy(self.proxy_url)


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewEgress:
    name: str
    proxy_url: str = dataclasses.field(default="", repr=False)
    asset_proxy_url: str = dataclasses.field(default="", repr=False)
    tags: tuple[str, ...] = ()
    enabled: bool = True
    max_inflight: int = 0
    browser: str = ""
    user_agent: str = ""
    clearance: Clearance | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EgressPatch:
    """Fields to change on an egress; ``UNSET`` fields are left as they are. A new
    ``proxy_url`` forgets the clearance (it belonged to the old address) unless the same
    patch sets one."""

    name: str | Unset = UNSET
    proxy_url: str | Unset = dataclasses.field(default=UNSET, repr=False)
    asset_proxy_url: str | Unset = dataclasses.field(default=UNSET, repr=False)
    tags: tuple[str, ...] | Unset = UNSET
    enabled: bool | Unset = UNSET
    max_inflight: int | Unset = UNSET
    browser: str | Unset = UNSET
    user_agent: str | Unset = UNSET
    clearance: Clearance | Unset | None = UNSET

    def changes(self) -> dict[str, Any]:
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not UNSET
        }
