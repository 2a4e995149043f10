"""What the pool needs to know about a model: quota mode, minimum tier, charge, product."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from grok2api_poolclient import errors
from grok2api_poolclient.leases import Tier
from grok_web import catalogue as grok_catalogue
from grok_web import errors as grok_errors

# The products the upstream may refuse an account (catalogue kind → product); chat is none.
PRODUCTS: dict[str, str] = {"image": "image", "image_edit": "image", "video": "video"}
# The upstream's windows count queries: every request, chat or media, heavy or not, takes
# one from its mode's window. The catalogue's cost (a heavier model costs more) is what a
# client key's quota counts, not what the account loses.
QUERIES_PER_REQUEST = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelCharge:
    mode: str  # the quota window charged
    min_tier: Tier
    cost: int  # quota units reserved from the window per request
    product: str = ""  # "image" or "video": accounts refused it are not leased; "" = chat


class ModelResolver(Protocol):
    def __call__(self, model: str) -> ModelCharge:
        """The charge for ``model``; raises ``errors.InvalidRequest`` when unknown."""
        ...


def from_catalogue(model: str) -> ModelCharge:
    """Resolve through ``grok_web.catalogue`` (the one model table)."""
    try:
        spec = grok_catalogue.get(model)
    except grok_errors.UnknownModel as exc:
        raise errors.InvalidRequest(f"unknown model {model!r}") from exc
    return ModelCharge(
        mode=spec.quota_mode,
        min_tier=Tier(spec.min_tier),
        cost=QUERIES_PER_REQUEST,
        product=PRODUCTS.get(spec.kind, ""),
    )
