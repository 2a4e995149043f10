"""Account settings: ToS and NSFW over gRPC-web, birth date over REST (grok-protocol.md §14)."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from .. import faults, gate, grpcweb, responses
from ..accounts import Account
from ..errors import RequestRejected
from .common import headers_of, json_response, parse_json, read_recorded, sim_state

BIRTH_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$")
BIRTH_DATE_LIMIT = "[WKE=account:birth-date-change-limit-reached]"
NSFW_FEATURE = b"always_show_nsfw_content"
GRPC_CONTENT_TYPE = "application/grpc-web+proto"
# gRPC codes that HTTP rejections become (§14.1 mapping, inverted); others are INTERNAL.
GRPC_STATUS = {401: 16, 403: 7, 429: 8, 502: 14, 503: 14}


async def set_birth_date(request: Request) -> Response:
    state = sim_state(request)
    body = parse_json(await read_recorded(request)) or {}
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"])
    value = body.get("birthDate") if isinstance(body, dict) else None
    if not isinstance(value, str) or not BIRTH_DATE.match(value):
        raise responses.bad_request("birthDate (YYYY-MM-DDTHH:MM:SS.mmmZ)")
    if account.birth_date is not None and account.birth_date != value:
        raise responses.rate_limited(retry_after=86400, message=BIRTH_DATE_LIMIT)
    account.birth_date = value
    return json_response({})


async def set_tos_accepted_rest(request: Request) -> Response:
    """HEAD's product call `POST /rest/auth/set-tos-accepted` `{"tosVersion": 5}` (§14.2)."""
    state = sim_state(request)
    body = parse_json(await read_recorded(request)) or {}
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"])
    version = body.get("tosVersion") if isinstance(body, dict) else None
    if not isinstance(version, int) or version < 1:
        raise responses.bad_request("missing or invalid body fields: tosVersion (positive int)")
    account.tos_version = version
    return json_response({})


def grpc_answer(*, status: int, message: str = "") -> Response:
    """A gRPC-web answer: an empty message (on success) and the trailer frame."""
    body = (grpcweb.frame(b"") if status == 0 else b"") + grpcweb.trailer(
        status=status, message=message
    )
    return Response(body, media_type=GRPC_CONTENT_TYPE,
                    headers={"grpc-status": str(status)} if status else None)


async def _grpc_call(request: Request, apply: Callable[[Account, bytes], None]) -> Response:
    state = sim_state(request)
    body = await read_recorded(request)
    headers = headers_of(request)
    credential, problems = gate.sso_from(headers)
    if GRPC_CONTENT_TYPE not in headers.get("content-type", ""):
        problems.append(f"Content-Type ({GRPC_CONTENT_TYPE})")
    if headers.get("x-grpc-web") != "1":
        problems.append("x-grpc-web (1)")
    gate.reject_missing(problems)
    try:
        account = gate.account_for(state, credential)
        gate.raise_request_fault(state, account=account, path=request.scope["path"],
                                 kinds=faults.REQUEST_KINDS)
    except RequestRejected as rejected:
        return grpc_answer(status=GRPC_STATUS.get(rejected.status, 13),
                           message="request rejected")
    try:
        payloads = grpcweb.data_frames(body)
        apply(account, payloads[0])
    except grpcweb.FramingError as error:
        return grpc_answer(status=3, message=str(error))
    return grpc_answer(status=0)


def _accept_tos(account: Account, payload: bytes) -> None:
    fields = grpcweb.read_fields(payload)
    version = fields.get(2, [None])[0]
    if not isinstance(version, int) or version < 1:
        raise grpcweb.FramingError("field 2 (tos version varint) required")
    account.tos_version = version


def _feature_controls(account: Account, payload: bytes) -> None:
    fields = grpcweb.read_fields(payload)
    flag_message, name_message = fields.get(1, [None])[0], fields.get(2, [None])[0]
    if not isinstance(flag_message, bytes) or not isinstance(name_message, bytes):
        raise grpcweb.FramingError("fields 1 (flag) and 2 (feature name) required")
    name = grpcweb.read_fields(name_message).get(1, [b""])[0]
    if name != NSFW_FEATURE:
        raise grpcweb.FramingError("unknown feature control")
    enabled = grpcweb.read_fields(flag_message).get(2, [0])[0]
    account.nsfw = bool(enabled)


async def set_tos_accepted(request: Request) -> Response:
    return await _grpc_call(request, _accept_tos)


async def update_feature_controls(request: Request) -> Response:
    return await _grpc_call(request, _feature_controls)
