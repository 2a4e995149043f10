"""The control API under `/_sim/` (JSON): accounts, faults, scripted replies, recordings.

    GET  /_sim/health                      -> {"ok": true}
    GET  /_sim/connections                 -> {"mgw_sockets": n}  (mgw WebSockets open now)
    GET  /_sim/accounts                    -> {"accounts": [...]}  (credentials masked)
    POST /_sim/accounts                    {credential, tier?, quotas?}
    POST /_sim/accounts/remove             {credential}
    POST /_sim/quota                       {credential, mode} -> window state
    GET  /_sim/faults | POST /_sim/faults  {kind, account?, times?, path?, params?}
    POST /_sim/faults/clear                {account?}
    POST /_sim/replies                     {text, reasoning?, search?, account?, times?}
    GET  /_sim/requests?path=&limit=       -> {"requests": [...]};  DELETE clears
    POST /_sim/reset
    GET  /_sim/options | POST /_sim/options {time_scale?, token_delay_ms?, tokens_per_reply?, seed?,
                                            clearance_required?, clearance_ttl_seconds?}
    GET  /_sim/clearance                   -> {required, issued, challenged, active,
                                               pendingChallenges} (counts per client address)
    POST /_sim/clearance/challenge         {address, times}: challenge its next `times` requests
    POST /_sim/clearance/revoke            {address?} -> {revoked}  (all addresses when absent)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import replies, responses
from ..accounts import Account
from ..faults import FaultRule
from .common import json_response, parse_json, sim_state

OPTION_FIELDS = ("seed", "time_scale", "token_delay_ms", "tokens_per_reply",
                 "clearance_required", "clearance_ttl_seconds")


async def _payload(request: Request) -> dict[str, Any]:
    data = parse_json(await request.body()) or {}
    if not isinstance(data, dict):
        raise responses.bad_request("control payload must be a JSON object")
    return data


def describe_account(account: Account, *, now: float, scale: float) -> dict[str, Any]:
    return {
        "credential": account.masked(),
        "userId": account.user_id,
        "tier": account.tier,
        "standingFaults": list(account.standing_faults),
        "birthDate": account.birth_date,
        "tosVersion": account.tos_version,
        "nsfw": account.nsfw,
        "quotas": {
            mode: {"total": w.total, "remaining": w.remaining(now=now, scale=scale),
                   "windowSeconds": w.window_seconds}
            for mode, w in account.windows.items()
        },
    }


async def health(request: Request) -> Response:
    return json_response({"ok": True})


async def connections(request: Request) -> Response:
    return json_response({"mgw_sockets": sim_state(request).open_mgw_sockets})


async def accounts(request: Request) -> Response:
    state = sim_state(request)
    if request.method == "POST":
        data = await _payload(request)
        try:
            account = state.accounts.add(credential=str(data.get("credential", "")),
                                         tier=str(data.get("tier", "basic")),
                                         quotas=data.get("quotas"), now=state.now())
        except ValueError as error:
            raise responses.bad_request(str(error)) from error
        return json_response(describe_account(account, now=state.now(), scale=state.scale))
    listed = [describe_account(a, now=state.now(), scale=state.scale) for a in state.accounts.all()]
    return json_response({"accounts": listed})


async def remove_account(request: Request) -> Response:
    data = await _payload(request)
    removed = sim_state(request).accounts.remove(str(data.get("credential", "")))
    return json_response({"removed": removed})


async def quota_state(request: Request) -> Response:
    state = sim_state(request)
    data = await _payload(request)
    account = state.accounts.find(str(data.get("credential", "")), now=state.now())
    if account is None:
        raise responses.not_found("account")
    window = account.windows.get(str(data.get("mode", "auto")))
    if window is None:
        return json_response({"total": 0, "remaining": 0, "windowSeconds": 0, "used": 0})
    return json_response({
        "total": window.total, "remaining": window.remaining(now=state.now(), scale=state.scale),
        "windowSeconds": window.window_seconds, "used": window.used,
    })


async def faults(request: Request) -> Response:
    state = sim_state(request)
    if request.method == "POST":
        data = await _payload(request)
        times = data.get("times")
        rule = FaultRule(kind=str(data.get("kind", "")), account=data.get("account"),
                         times=int(times) if times is not None else None,
                         path=data.get("path"), params=dict(data.get("params") or {}))
        try:
            state.faults.arm(rule)
        except ValueError as error:
            raise responses.bad_request(str(error)) from error
    return json_response({"faults": state.faults.describe()})


async def clear_faults(request: Request) -> Response:
    data = await _payload(request)
    sim_state(request).faults.clear(account=data.get("account"))
    return json_response({"faults": sim_state(request).faults.describe()})


async def script_reply(request: Request) -> Response:
    state = sim_state(request)
    data = await _payload(request)
    try:
        reply = replies.Reply.from_mapping(data)
    except ValueError as error:
        raise responses.bad_request(str(error)) from error
    state.script.push(reply, account=data.get("account"), times=int(data.get("times", 1)))
    return json_response({"pending": state.script.pending()})


async def recorded(request: Request) -> Response:
    state = sim_state(request)
    if request.method == "DELETE":
        state.recorder.clear()
        return json_response({"requests": []})
    limit = request.query_params.get("limit")
    chosen = state.recorder.select(path=request.query_params.get("path"),
                                   limit=int(limit) if limit else None)
    return json_response({"requests": chosen})


async def reset(request: Request) -> Response:
    sim_state(request).reset()
    return json_response({"ok": True})


async def options(request: Request) -> Response:
    state = sim_state(request)
    if request.method == "POST":
        data = await _payload(request)
        changes = {k: data[k] for k in OPTION_FIELDS if k in data}
        state.update_options(**changes)
    return json_response(dataclasses.asdict(state.options))


async def clearance_state(request: Request) -> Response:
    state = sim_state(request)
    described = state.clearance.describe(now=state.now())
    return json_response({"required": state.options.clearance_required, **described})


async def challenge(request: Request) -> Response:
    state = sim_state(request)
    data = await _payload(request)
    address = str(data.get("address") or "")
    if not address:
        raise responses.bad_request("address is required (the client address to challenge)")
    state.clearance.challenge(address=address, times=int(data.get("times", 1)))
    return json_response(state.clearance.describe(now=state.now()))


async def revoke(request: Request) -> Response:
    state = sim_state(request)
    data = await _payload(request)
    address = data.get("address")
    return json_response({"revoked": state.clearance.revoke(
        address=str(address) if address else None)})


ROUTES = [
    Route("/_sim/health", health),
    Route("/_sim/connections", connections),
    Route("/_sim/accounts", accounts, methods=["GET", "POST"]),
    Route("/_sim/accounts/remove", remove_account, methods=["POST"]),
    Route("/_sim/quota", quota_state, methods=["POST"]),
    Route("/_sim/faults", faults, methods=["GET", "POST"]),
    Route("/_sim/faults/clear", clear_faults, methods=["POST"]),
    Route("/_sim/replies", script_reply, methods=["POST"]),
    Route("/_sim/requests", recorded, methods=["GET", "DELETE"]),
    Route("/_sim/reset", reset, methods=["POST"]),
    Route("/_sim/options", options, methods=["GET", "POST"]),
    Route("/_sim/clearance", clearance_state, methods=["GET"]),
    Route("/_sim/clearance/challenge", challenge, methods=["POST"]),
    Route("/_sim/clearance/revoke", revoke, methods=["POST"]),
]
