"""The Imagine socket closed by the upstream mid-round is a close, not a malformed frame
(curl_cffi hands the peer's close frame to ``recv`` as a message with the CLOSE flag)."""

from __future__ import annotations

import base64
import json

import pytest
from grok_web import errors
from grok_web.client import GrokClient
from grok_web.imagine import ImagineRequest
from grok_web.options import ClientOptions, Endpoints
from websockets.asyncio.server import ServerConnection, serve


async def preview_then_close(conn: ServerConnection) -> None:
    for _ in range(2):  # the reset and the prompt
        await conn.recv()
    preview = {"type": "image", "image_id": "a", "percentage_complete": 30,
               "blob": base64.b64encode(b"tiny preview").decode()}
    await conn.send(json.dumps(preview))
    await conn.close(1000, "done")


async def test_a_close_mid_round_ends_the_round_as_blocked() -> None:
    async with serve(preview_then_close, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        options = ClientOptions(endpoints=Endpoints(base_url=base, assets_url=base))
        async with GrokClient(options=options) as grok:
            with pytest.raises(errors.ContentBlocked):
                async for _event in grok.imagine(
                    credential="tok", request=ImagineRequest(prompt="x", count=1)
                ):
                    pass
