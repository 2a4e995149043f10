"""Conversions between the egress management values (``egresses``) and their messages.

Used by both ends, like ``grpc_codec`` (which converts accounts and leases). The views carry
no secret: proxies come masked, clearances without cookies. Absent times are 0 on the wire.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from grok2api.tokenpool.v1 import token_pool_pb2 as pb

from . import egresses

_STATES = {s: getattr(pb, f"EGRESS_STATE_{s.name}") for s in egresses.EgressState}
_STATES_BACK = {v: k for k, v in _STATES.items()}
_RESULTS = {r: getattr(pb, f"REFRESH_RESULT_{r.name}") for r in egresses.RefreshResult}
_RESULTS_BACK = {v: k for k, v in _RESULTS.items()}


def egress_to_pb(egress: egresses.Egress) -> pb.Egress:
    clearance = egress.clearance
    return pb.Egress(
        id=egress.id,
        name=egress.name,
        proxy_masked=egress.proxy_masked,
        asset_proxy_masked=egress.asset_proxy_masked,
        tags=list(egress.tags),
        enabled=egress.enabled,
        max_inflight=egress.max_inflight,
        browser=egress.browser,
        user_agent=egress.user_agent,
        clearance=None if clearance is None else clearance_to_pb(clearance),
        state=_state_to_pb(egress.state),
        bound_accounts=egress.bound_accounts,
        inflight=egress.inflight,
        calls=egress.calls,
        challenges=egress.challenges,
        challenge_rate=egress.challenge_rate,
        latency_ms=egress.latency_ms,
        last_error=egress.last_error,
        from_settings=egress.from_settings,
        created_at=egress.created_at,
        updated_at=egress.updated_at,
    )


def egress_from_pb(msg: pb.Egress) -> egresses.Egress:
    return egresses.Egress(
        id=msg.id,
        name=msg.name,
        proxy_masked=msg.proxy_masked,
        asset_proxy_masked=msg.asset_proxy_masked,
        tags=tuple(msg.tags),
        enabled=msg.enabled,
        max_inflight=msg.max_inflight,
        browser=msg.browser,
        user_agent=msg.user_agent,
        clearance=clearance_from_pb(msg.clearance) if msg.HasField("clearance") else None,
        # a state this client does not know (a newer pool's) reads as healthy
        state=_STATES_BACK.get(msg.state, egresses.EgressState.HEALTHY),
        bound_accounts=msg.bound_accounts,
        inflight=msg.inflight,
        calls=msg.calls,
        challenges=msg.challenges,
        challenge_rate=msg.challenge_rate,
        latency_ms=msg.latency_ms,
        last_error=msg.last_error,
        from_settings=msg.from_settings,
        created_at=msg.created_at,
        updated_at=msg.updated_at,
    )


def _state_to_pb(state: egresses.EgressState) -> Any:
    return _STATES[state]


def clearance_to_pb(info: egresses.ClearanceInfo) -> pb.ClearanceInfo:
    return pb.ClearanceInfo(
        source=info.source,
        user_agent=info.user_agent,
        obtained_at=info.obtained_at,
        expires_at=info.expires_at,
    )


def clearance_from_pb(msg: pb.ClearanceInfo) -> egresses.ClearanceInfo:
    return egresses.ClearanceInfo(
        source=msg.source,
        user_agent=msg.user_agent,
        obtained_at=msg.obtained_at,
        expires_at=msg.expires_at if msg.HasField("expires_at") else None,
    )


def egress_test_to_pb(test: egresses.EgressTest) -> pb.EgressTest:
    # The message's fields are the dataclass's, name for name.
    return pb.EgressTest(**dataclasses.asdict(test))


def egress_test_from_pb(msg: pb.EgressTest) -> egresses.EgressTest:
    fields = dataclasses.fields(egresses.EgressTest)
    return egresses.EgressTest(**{field.name: getattr(msg, field.name) for field in fields})


def refresh_to_pb(refresh: egresses.ClearanceRefresh) -> pb.ClearanceRefresh:
    return pb.ClearanceRefresh(
        egress_id=refresh.egress_id, result=_RESULTS[refresh.result], message=refresh.message
    )


def refresh_from_pb(msg: pb.ClearanceRefresh) -> egresses.ClearanceRefresh:
    return egresses.ClearanceRefresh(
        egress_id=msg.egress_id,
        result=_RESULTS_BACK.get(msg.result, egresses.RefreshResult.FAILED),
        message=msg.message,
    )
