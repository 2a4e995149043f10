"""The Imagine WebSocket `/ws/imagine/listen` (grok-protocol.md §11.3).

Per prompt, each slot gets: `json` start_stage, an `image` preview (< 30 000 bytes), an
`image` medium (30 000-70 000 bytes, PNG), an `image` final (> 100 000 bytes, JPEG, url
ending `.jpg`, percentage 100) and `json` completed. Faults: `moderated` (no final,
completed with moderated:true), `imagine-no-final` (preview and medium, then silence).
Each prompt charges one query of the account's `auto` window.
"""

from __future__ import annotations

import base64
import logging
from functools import partial
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import faults, gate, imaging, media
from ..accounts import Account
from ..state import SimState
from .common import accept_websocket, headers_of, sim_state

logger = logging.getLogger(__name__)

ASPECT_SIZES = {"1:1": (1024, 1024), "2:3": (1024, 1536), "3:2": (1536, 1024),
                "16:9": (1280, 720), "9:16": (720, 1280)}
PATH = "/ws/imagine/listen"


async def imagine_listen(websocket: WebSocket) -> None:
    account = await accept_websocket(websocket, path=PATH, admit=_admit)
    if account is None:
        return
    state = sim_state(websocket)
    try:
        while True:
            raw = await websocket.receive_text()
            state.recorder.record(method="WS", path=PATH, query="", headers={},
                                  body=raw.encode(), content_type="application/json")
            await _handle_message(state, websocket, account, raw)
    except WebSocketDisconnect:
        return


def _admit(state: SimState, websocket: WebSocket) -> Account:
    credential, problems = gate.sso_from(headers_of(websocket))
    problems += [name for name in ("origin", "user-agent") if not headers_of(websocket).get(name)]
    gate.reject_missing(problems)
    account = gate.account_for(state, credential)
    gate.raise_request_fault(state, account=account, path=PATH, kinds=faults.REQUEST_KINDS)
    return account


async def _handle_message(state: SimState, websocket: WebSocket, account: Account,
                          raw: str) -> None:
    try:
        message = orjson.loads(raw)
        content = message["item"]["content"][0]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        await _error(websocket, "invalid_request", "expected conversation.item.create")
        return
    if message.get("type") != "conversation.item.create" or not isinstance(content, dict):
        await _error(websocket, "invalid_request", "expected conversation.item.create")
        return
    if content.get("type") == "reset":
        return
    problems = [name for name in ("requestId", "text") if not content.get(name)]
    properties = content.get("properties")
    if not isinstance(properties, dict):
        problems.append("properties")
    if content.get("type") != "input_text" or problems:
        await _error(websocket, "invalid_request", "missing: " + ", ".join(problems or ["type"]))
        return
    window = account.windows["auto"]
    if not window.charge(now=state.now(), scale=state.scale):
        await _error(websocket, "rate_limit_exceeded", "You've reached your usage limit.")
        return
    fired = state.faults.take(kinds=faults.MEDIA_KINDS, credential=account.credential, path=PATH,
                              standing=account.standing_faults)
    await _generate(state, websocket, account, properties if isinstance(properties, dict) else {},
                    fired)


async def _generate(state: SimState, websocket: WebSocket, account: Account,
                    properties: dict[str, Any], fired: dict[str, Any]) -> None:
    count = properties.get("num_generations")
    if not isinstance(count, int) or not 1 <= count <= 10:
        count = 4 if properties.get("enable_pro") else 6
    width, height = ASPECT_SIZES.get(str(properties.get("aspect_ratio")), (1024, 1536))
    for order in range(count):
        image_id = state.new_id("imagine")
        variant = media.variant_for(image_id)
        slot = {"image_id": image_id, "job_id": image_id, "order": order,
                "width": width, "height": height}
        await _send(websocket, {"type": "json", "current_status": "start_stage", **slot,
                                "moderated": False, "r_rated": False})
        base = f"users/{account.user_id}/imagine/{image_id}"
        for percent, blob, suffix in ((33, media.preview_png(variant), "preview.png"),
                                      (66, media.medium_png(variant), "medium.png")):
            await _send(websocket, {"type": "image", "url": f"{base}/{suffix}", **slot,
                                    "blob": base64.b64encode(blob).decode(),
                                    "percentage_complete": percent})
        if "imagine-no-final" in fired:
            continue
        moderated = "moderated" in fired
        if not moderated:
            url = imaging.store(state, account=account, asset_id=image_id,
                                path=f"{base}/image.jpg", mime="image/jpeg",
                                data=partial(media.final_jpeg, variant))
            await _send(websocket, {"type": "image", "url": url, **slot,
                                    "blob": base64.b64encode(media.final_jpeg(variant)).decode(),
                                    "percentage_complete": 100})
        await _send(websocket, {"type": "json", "current_status": "completed", **slot,
                                "moderated": moderated, "r_rated": False})


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(orjson.dumps(message).decode())


async def _error(websocket: WebSocket, code: str, text: str) -> None:
    await _send(websocket, {"type": "error", "err_code": code, "err_msg": text})


