"""`POST /rest/rate-limits` (grok-protocol.md §8.1) in the v2 and the older v1 shape."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import faults, gate, quota, responses
from .common import headers_of, json_response, parse_json, read_recorded, sim_state

# v1 bodies name an upstream model; heavy models report the heavy window, others `auto`.
V1_HEAVY_MODELS = ("grok-4-heavy",)


async def rate_limits(request: Request) -> Response:
    state = sim_state(request)
    body = parse_json(await read_recorded(request))
    kinds = tuple(k for k in faults.REQUEST_KINDS if k != "429")
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"],
                         fault_kinds=kinds)
    if not isinstance(body, dict) or not isinstance(body.get("modelName"), str):
        raise responses.bad_request("missing or invalid body fields: modelName (missing)")
    name = body["modelName"]
    legacy = "requestKind" in body
    if legacy:
        mode = "heavy" if name in V1_HEAVY_MODELS else "auto"
    elif name in quota.MODES:
        mode = name
    else:
        raise responses.bad_request(f"modelName (one of {', '.join(quota.MODES)})")
    exhausted = bool(state.faults.take(kinds=("429",), credential=account.credential,
                                       path=request.scope["path"],
                                       standing=account.standing_faults))
    window = account.windows.get(mode)
    total = window.total if window else 0
    remaining = window.remaining(now=state.now(), scale=state.scale) if window else 0
    if exhausted:
        remaining = 0
    seconds = window.window_seconds if window else 7200
    if legacy:
        return json_response({
            "windowSizeSeconds": seconds, "remainingTokens": remaining, "totalTokens": total,
            "remainingQueries": remaining, "totalQueries": total,
        })
    return json_response({
        "windowSizeSeconds": seconds, "remainingQueries": remaining, "totalQueries": total,
        "remainingTokens": remaining, "lowEffortRateLimits": None, "highEffortRateLimits": None,
    })
