"""The mgw baseline of ``bench_gateway.py``: one chat turn straight to the simulator's
``/ws/mgw/`` (grok-protocol.md §6) with a minimal asyncio WebSocket client, the exchange
grok_web makes: a new connection and upgrade, ``session.create``, ``session.created`` +
``conversation.attached``, ``conversation.item.create`` + ``response.create``, the answer
frames up to ``response.done``, a close frame. One connection per turn, as the protocol
has it (a session is bound to its socket)."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
import uuid
from typing import Any

import orjson

CREDENTIAL = "sso-bench-0"
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)
FIRST_TOKEN = b'"channel":"CHANNEL_ASSISTANT_RESPONSE"'
X_GROK = {
    "protocol_capabilities": ["conversation_attached", "custom_methods_v1"],
    "use_chunk": True, "enable_side_by_side": True, "force_side_by_side": False,
    "enable_image_generation": True, "image_generation_count": 2,
    "disable_text_follow_ups": False, "disable_artifact": True, "force_concise": False,
    "keep_context": False, "is_temporary": True, "disable_memory": True,
}


async def user_id(port: int, credential: str = CREDENTIAL) -> str:
    """The account's user id from the simulator's ``/api/auth/session`` (§16)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET /api/auth/session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Cookie: sso={credential}; sso-rw={credential}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nReferer: http://127.0.0.1:{port}/\r\n"
        f"User-Agent: {USER_AGENT}\r\nx-xai-request-id: {uuid.uuid4()}\r\n\r\n"
    ).encode()
    try:
        head = await _head(reader, writer, request)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        data = orjson.loads(await reader.readexactly(length))
    finally:
        writer.close()
    return str(data["session"]["userId"])


async def _head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                request: bytes) -> bytes:
    writer.write(request)
    return await reader.readuntil(b"\r\n\r\n")


def _frame(text: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame (RFC 6455 §5.2)."""
    mask = os.urandom(4)
    size = len(text)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
    masked = (int.from_bytes(text, "big") ^ key).to_bytes(size, "big") if size else b""
    return head + mask + masked


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One unmasked server frame (no fragmentation: the simulator sends whole messages)."""
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", await reader.readexactly(8))[0]
    return first & 0x0F, await reader.readexactly(size)


class MgwTurn:
    """Turns against one simulator port as one account (its user id looked up once, as
    grok_web caches it)."""

    def __init__(self, port: int, uid: str, credential: str = CREDENTIAL) -> None:
        self.port = port
        self.upgrade_head = (
            f"GET /ws/mgw/?uid={uid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Cache-Control: no-cache\r\nPragma: no-cache\r\n"
            f"Cookie: sso={credential}; sso-rw={credential}; x-userid={uid}\r\n"
        )

    async def run(self, message: str = "Hello there") -> tuple[int, float, float]:
        """One turn; (status, ttft, latency): status 200 when it ended with
        ``response.done``, else the upgrade's status or 599."""
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            return await self._turn(reader, writer, message, started)
        finally:
            writer.close()

    async def _turn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    message: str, started: float) -> tuple[int, float, float]:
        key = base64.b64encode(os.urandom(16)).decode()
        head = await _head(reader, writer,
                           f"{self.upgrade_head}Sec-WebSocket-Key: {key}\r\n\r\n".encode())
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            return status, 0.0, time.perf_counter() - started
        event_id = f"evt_init_{uuid.uuid4()}"
        writer.write(_frame(orjson.dumps({"event": {
            "type": "session.create", "event_id": event_id,
            "session": {"model": "auto", "x_grok": X_GROK}}})))
        session_id, attached = "", False
        while not (session_id and attached):
            frame = orjson.loads((await _read(reader))[1])
            kind = frame["event"]["type"]
            if kind == "session.created" and frame["event"].get("client_event_id") == event_id:
                session_id = frame["session_id"]
            elif kind == "conversation.attached":
                attached = True
            elif kind == "error":
                return 599, 0.0, time.perf_counter() - started
        ms = int(time.time() * 1000)
        item: dict[str, Any] = {"type": "message", "role": "user", "x_grok": {
            "client_message_id": str(uuid.uuid4()), "input_chunks": [{"text": {"text": message}}]}}
        writer.write(_frame(orjson.dumps({"session_id": session_id, "event": {
            "type": "conversation.item.create", "event_id": f"evt_msg_{ms}", "item": item}}))
            + _frame(orjson.dumps({"session_id": session_id, "event": {
                "type": "response.create", "event_id": f"evt_resp_{ms}"}})))
        ttft = 0.0
        while True:
            opcode, payload = await _read(reader)
            if opcode == 0x8:
                return 599, ttft, time.perf_counter() - started
            if not ttft and FIRST_TOKEN in payload:
                ttft = time.perf_counter() - started
            if b'"response.done"' in payload or b'"type":"error"' in payload:
                done = orjson.loads(payload)["event"]["type"] == "response.done"
                writer.write(_frame(struct.pack("!H", 1000), opcode=0x8))
                return (200 if done else 599), ttft, time.perf_counter() - started


__all__ = ["USER_AGENT", "MgwTurn", "user_id"]
