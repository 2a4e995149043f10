"""Uploads, the asset list, asset deletion and downloads (grok-protocol.md §9.1, §10)."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response

from .. import faults, gate, imaging, responses
from .common import headers_of, json_response, parse_json, read_recorded, sim_state

MAX_PAGE_SIZE = 100
UPLOAD_KINDS = (*faults.REQUEST_KINDS, "upload-403")


async def upload_file(request: Request) -> Response:
    state = sim_state(request)
    body = parse_json(await read_recorded(request))
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"],
                         fault_kinds=UPLOAD_KINDS)
    problems = [f"{name} (missing)" for name in ("fileName", "fileMimeType", "content")
                if not isinstance((body or {}).get(name), str) or not body[name]]
    if problems:
        raise responses.bad_request("missing or invalid body fields: " + ", ".join(problems))
    if body["content"].startswith("data:"):
        raise responses.bad_request("content must be base64 without a data: prefix")
    try:
        data = base64.b64decode(body["content"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise responses.bad_request("content (invalid base64)") from error
    file_id = state.new_id("file")
    path = imaging.store(state, account=account, asset_id=file_id,
                         path=f"users/{account.user_id}/{file_id}/content",
                         mime=body["fileMimeType"], data=data, name=body["fileName"])
    return json_response({"fileMetadataId": file_id, "fileUri": path})


async def list_assets(request: Request) -> Response:
    state = sim_state(request)
    await read_recorded(request)
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"],
                         with_body=False)
    params = request.query_params
    try:
        size = min(max(int(params.get("pageSize", "50")), 1), MAX_PAGE_SIZE)
        start = int(params.get("pageToken") or 0)
    except ValueError as error:
        raise responses.bad_request("pageSize and pageToken must be integers") from error
    owned = state.assets.owned_by(account.user_id)
    page = owned[start : start + size]
    answer: dict[str, object] = {"assets": [asset.describe() for asset in page]}
    if start + size < len(owned):
        answer["nextPageToken"] = str(start + size)
    return json_response(answer)


async def delete_asset(request: Request) -> Response:
    state = sim_state(request)
    await read_recorded(request)
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"],
                         with_body=False)
    if not state.assets.delete(owner=account.user_id, asset_id=request.path_params["asset_id"]):
        raise responses.not_found("asset")
    return json_response({})


async def download(request: Request) -> Response:
    """Asset bytes for the owning account only: 403 without its sso cookie, like the
    assets host (no cookie, an unknown session or another user's session alike)."""
    state = sim_state(request)
    await read_recorded(request)
    credential, _ = gate.sso_from(headers_of(request))
    account = state.accounts.find(credential, now=state.now()) if credential else None
    asset = state.assets.at(request.scope["path"])
    if account is None or (asset is not None and asset.owner != account.user_id):
        message = "asset requires its owner's session"
        raise responses.RequestRejected(
            status=403, body=responses.error_body(code=7, message=message)
        )
    if asset is None:
        raise responses.not_found("asset")
    return Response(asset.load(), media_type=asset.mime_type)


async def public_download(request: Request) -> Response:
    """Share-link copies under `imagine-public/` (no cookie, like imagine-public.x.ai)."""
    state = sim_state(request)
    await read_recorded(request)
    asset = state.assets.at(request.scope["path"])
    if asset is None:
        raise responses.not_found("asset")
    return Response(asset.load(), media_type=asset.mime_type)
