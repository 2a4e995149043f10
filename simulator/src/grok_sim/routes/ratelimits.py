"""Quota endpoints: `POST /rest/rate-limits` (§8.1, v2 and v1 shapes) and the HEAD
`POST /rest/media/imagine/quota_info` (§8.3)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from .. import faults, gate, quota, responses
from ..accounts import Account
from ..state import SimState
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


# Imagine products and the window each one draws on (image lite uses chat `fast`).
IMAGINE_PRODUCTS = {"image": "fast", "imagePro": "auto", "imageEdit": "auto", "video": "auto",
                    "video720p": "auto"}


async def imagine_quota(request: Request) -> Response:
    state = sim_state(request)
    await read_recorded(request)
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"])
    return json_response({
        product: _product_quota(state, account, mode) for product, mode in IMAGINE_PRODUCTS.items()
    })


def _product_quota(state: SimState, account: Account, mode: str) -> dict[str, object] | None:
    window = account.windows.get(mode)
    if window is None:
        return None
    now, scale = state.now(), state.scale
    remaining = window.remaining(now=now, scale=scale)
    answer: dict[str, object] = {"available": remaining > 0, "remainingQueries": remaining,
                                 "windowSizeSeconds": window.window_seconds}
    if remaining == 0:
        refill = time.time() + window.retry_after(now=now, scale=scale)
        answer["nextAvailableAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(refill))
    return answer
