"""The model catalogue: public model id → upstream mode, quota mode, tier and cost.

One table (the seed's models). The token pool uses ``quota_mode`` and ``min_tier`` to pick
an account and charge its window (one query a request, whatever the model); the gateway
uses ``kind`` to route, ``capabilities`` to decide what to show (e.g. reasoning) and
``cost`` to count client keys' quotas in cost units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Literal

from grok_web import errors

Kind = Literal["chat", "image", "image_edit", "video"]
Mode = Literal["auto", "fast", "expert", "heavy"]
Tier = Literal["basic", "super", "heavy"]

TIER_ORDER: dict[str, int] = {"basic": 0, "super": 1, "heavy": 2}


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What a model can produce besides plain text."""

    reasoning: bool = False
    image_generation: bool = False
    image_edit: bool = False
    video: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ModelSpec:
    """One catalogue entry. ``mode`` is the app-chat ``modeId`` (chat models) and
    ``quota_mode`` the rate-limit window charged; ``cost`` is the model's price in cost
    units (client keys' quotas), not what the upstream takes from the window."""

    id: str
    kind: Kind
    mode: Mode
    quota_mode: Mode
    min_tier: Tier
    cost: int
    display_name: str
    capabilities: Capabilities
    context_window: int = 0
    """Tokens of prompt and answer together (chat models; 0 for media models). An
    estimate: grok.com publishes no limits for its web models, so these are xAI's published
    API context windows of the same model families (Grok 3: 131,072; Grok 4: 256,000)."""
    max_output_tokens: int = 0
    """Tokens one answer may hold (chat models; 0 for media models); an estimate as above."""

    def allows_tier(self, tier: str) -> bool:
        """Whether an account of ``tier`` may serve this model."""
        return TIER_ORDER.get(tier, -1) >= TIER_ORDER[self.min_tier]


_GROK3_CONTEXT, _GROK4_CONTEXT = 131_072, 256_000
_GROK3_OUTPUT, _GROK4_OUTPUT = 16_384, 32_768


def _chat(model_id: str, mode: Mode, tier: Tier, cost: int, name: str) -> ModelSpec:
    grok3 = model_id.startswith("grok-3")
    return ModelSpec(
        id=model_id,
        kind="chat",
        mode=mode,
        quota_mode=mode,
        min_tier=tier,
        cost=cost,
        display_name=name,
        capabilities=Capabilities(reasoning=mode in ("expert", "heavy"), image_generation=True),
        context_window=_GROK3_CONTEXT if grok3 else _GROK4_CONTEXT,
        max_output_tokens=_GROK3_OUTPUT if grok3 else _GROK4_OUTPUT,
    )


MODELS: tuple[ModelSpec, ...] = (
    _chat("grok-3", "fast", "basic", 1, "Grok 3"),
    _chat("grok-3-fast", "fast", "basic", 1, "Grok 3 Fast"),
    _chat("grok-4", "auto", "basic", 1, "Grok 4"),
    _chat("grok-4-mini", "fast", "basic", 1, "Grok 4 Mini"),
    _chat("grok-4-fast", "fast", "basic", 1, "Grok 4 Fast"),
    _chat("grok-4-heavy", "heavy", "super", 4, "Grok 4 Heavy"),
    _chat("grok-4.1", "auto", "basic", 1, "Grok 4.1"),
    _chat("grok-4.1-thinking", "expert", "basic", 4, "Grok 4.1 Thinking"),
    ModelSpec(
        id="grok-imagine-1.0",
        kind="image",
        mode="auto",
        quota_mode="auto",
        min_tier="basic",
        cost=4,
        display_name="Grok Imagine 1.0",
        capabilities=Capabilities(image_generation=True),
    ),
    ModelSpec(
        id="grok-imagine-1.0-edit",
        kind="image_edit",
        mode="auto",
        quota_mode="auto",
        min_tier="basic",
        cost=4,
        display_name="Grok Imagine 1.0 Edit",
        capabilities=Capabilities(image_edit=True),
    ),
    ModelSpec(
        id="grok-imagine-1.0-video",
        kind="video",
        mode="auto",
        quota_mode="auto",
        min_tier="basic",
        cost=4,
        display_name="Grok Imagine 1.0 Video",
        capabilities=Capabilities(video=True),
    ),
)

_BY_ID: dict[str, ModelSpec] = {spec.id: spec for spec in MODELS}


def get(model_id: str) -> ModelSpec:
    """The entry for ``model_id``; raises :class:`grok_web.errors.UnknownModel`."""
    try:
        return _BY_ID[model_id]
    except KeyError:
        raise errors.UnknownModel(f"unknown model {model_id!r}") from None


def find(model_id: str) -> ModelSpec | None:
    """The entry for ``model_id`` or None."""
    return _BY_ID.get(model_id)


def all_models() -> Iterator[ModelSpec]:
    """Every entry, in catalogue order."""
    return iter(MODELS)


def modes() -> tuple[Mode, ...]:
    """The distinct quota modes used by the catalogue (for rate-limit refreshes)."""
    return ("auto", "fast", "expert", "heavy")
