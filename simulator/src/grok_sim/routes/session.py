"""`GET /api/auth/session`: the account's identity (grok-protocol.md §16, HEAD generation).

Admission (HEAD header set of §2.2, a GET without body or statsig): the `sso`/`sso-rw`
cookie, `Origin`, `Referer`, `User-Agent` and a UUID `x-xai-request-id` (400 naming what
is missing); an unknown session answers 401; then the request faults. The `blocked` fault
answers 200 `{"status": "blocked"}` here, the shape §16 says the endpoint uses for blocked
users; the other request faults answer as on every REST call.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import faults, gate
from .common import headers_of, json_response, read_recorded, sim_state

PATH = "/api/auth/session"
REQUIRED_HEADERS = ("origin", "referer", "user-agent", "x-xai-request-id")
FAULT_KINDS = tuple(kind for kind in faults.REQUEST_KINDS if kind != "blocked")


async def auth_session(request: Request) -> Response:
    state = sim_state(request)
    await read_recorded(request)
    headers = headers_of(request)
    gate.reject_missing(gate.missing_headers(headers, names=REQUIRED_HEADERS))
    credential, _ = gate.sso_from(headers)
    account = gate.account_for(state, credential)
    fired = state.faults.take(kinds=("blocked",), credential=account.credential, path=PATH,
                              standing=account.standing_faults)
    if "blocked" in fired:
        return json_response({"status": "blocked", "session": None, "user": None})
    gate.raise_request_fault(state, account=account, path=PATH, kinds=FAULT_KINDS)
    email = f"{account.user_id[:8]}@sim.grok.invalid"
    return json_response({
        "status": "authenticated",
        "session": {"userId": account.user_id, "email": email, "organizationId": None},
        "user": {"id": account.user_id, "email": email, "teamId": None,
                 "tier": account.tier},
    })
