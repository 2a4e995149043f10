"""``GET /v1/models`` and ``GET /v1/models/{id}``: the catalogue in OpenAI's list shape.

A client key with a model allowlist sees only those models in the list. Each entry also
carries its minimum account tier, quota cost, capabilities, its context window and output
limit (estimates, see ``catalogue.ModelSpec``; under the names agents read:
``context_window``/``context_length`` and ``max_output_tokens``; null for media models) and
whether the pool can serve it right now (``available``), when the pool can tell (see
``availability``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from fastapi import APIRouter
from grok_web import catalogue
from starlette.responses import Response

from .. import availability, deps, errors

router = APIRouter(prefix="/v1", dependencies=[deps.Authenticated])

CREATED = 1_735_689_600  # 2025-01-01: the catalogue has no per-model dates


@router.get("/models")
async def list_models(services: deps.ServicesDep, caller: deps.CallerDep) -> Response:
    """The catalogue; for a client key with a model allowlist, only the models it may use."""
    tiers = await availability.servable_tiers(services.chat.pool)
    data = [_entry(spec, tiers) for spec in catalogue.all_models() if caller.allows(spec.id)]
    return errors.json_response(200, {"object": "list", "data": data})


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, services: deps.ServicesDep) -> Response:
    spec = catalogue.find(model_id)
    if spec is None:
        raise errors.ModelNotFound(f"The model '{model_id}' does not exist", param="model")
    tiers = await availability.servable_tiers(services.chat.pool)
    return errors.json_response(200, _entry(spec, tiers))


def _entry(spec: catalogue.ModelSpec, tiers: Collection[str] | None) -> dict[str, Any]:
    caps = spec.capabilities
    return {
        "id": spec.id,
        "object": "model",
        "created": CREATED,
        "owned_by": "xai",
        "display_name": spec.display_name,
        "kind": spec.kind,
        "min_tier": spec.min_tier,
        "cost": spec.cost,
        "capabilities": {
            "chat": spec.kind == "chat",
            "reasoning": caps.reasoning,
            "image_generation": caps.image_generation,
            "image_edit": caps.image_edit,
            "video": caps.video,
        },
        "context_window": spec.context_window or None,
        "context_length": spec.context_window or None,
        "max_output_tokens": spec.max_output_tokens or None,
        "available": None if tiers is None else any(spec.allows_tier(t) for t in tiers),
    }
