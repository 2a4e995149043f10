"""The socket of one mgw turn: JSON frames in and out, the first-byte and idle deadlines,
the client heartbeat (protocol §6.1) and a bounded close."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

import orjson
from curl_cffi import CurlError, CurlWsFlag
from curl_cffi.requests.websockets import WebSocketClosed, WebSocketTimeout

from grok_web import errors, translate
from grok_web.socket_slots import UpstreamSocket

HEARTBEAT_SECONDS = 25.0
CLOSE_GRACE_SECONDS = 1.0
# Server frames that only say the connection is alive: they do not reset the idle clock.
_KEEPALIVE_TYPES = frozenset({"ping", "pong"})
_CLOSE_FLAG = int(CurlWsFlag.CLOSE)


def ms() -> int:
    return int(time.time() * 1000)


def heartbeat() -> dict[str, Any]:
    """The client heartbeat (§6.1)."""
    return {"event": {"type": "ping", "event_id": f"evt_hb_{ms()}"}}


def _close_code(payload: bytes) -> int | None:
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None


class Link:
    """The socket of one turn: JSON send/receive with the first-byte and idle deadlines
    and the heartbeat."""

    def __init__(
        self, ws: UpstreamSocket, *, secrets: tuple[str, ...], first_byte: float, idle: float
    ) -> None:
        self.ws = ws
        self.secrets = secrets
        self._first_byte_limit = first_byte
        self._first_byte: float | None = first_byte
        self._idle = idle
        self._last = time.monotonic()
        self._next_beat = self._last + HEARTBEAT_SECONDS
        self.skipped = 0  # frames that were not JSON objects

    def await_first_answer(self) -> None:
        """The request was sent: its first event must come within the first-byte deadline
        (an upstream that attaches the session, then never answers, is a dead one)."""
        self._first_byte = self._first_byte_limit
        self._last = time.monotonic()

    async def send(self, payload: Mapping[str, Any]) -> None:
        try:
            await self.ws.send_str(orjson.dumps(payload).decode())
        except WebSocketClosed as exc:
            raise errors.UpstreamUnavailable("upstream mgw socket closed while sending") from exc
        except CurlError as exc:
            raise translate.from_transport(exc, secrets=self.secrets) from exc

    async def receive(self) -> Mapping[str, Any]:
        """The next JSON frame (keep-alive frames skipped)."""
        while True:
            now = time.monotonic()
            if now >= self._next_beat:
                self._next_beat = now + HEARTBEAT_SECONDS
                await self.send(heartbeat())
            limit = self._idle if self._first_byte is None else self._first_byte
            deadline = self._last + limit
            if now >= deadline:
                self._expired(limit)
            wait = min(deadline, self._next_beat) - now
            try:
                payload, flags = await self.ws.recv(timeout=max(wait, 0.001))
            except WebSocketTimeout:
                continue
            except WebSocketClosed as exc:
                raise errors.UpstreamUnavailable(
                    "upstream mgw socket closed before response.done"
                ) from exc
            except CurlError as exc:
                raise translate.from_transport(exc, secrets=self.secrets) from exc
            if flags & _CLOSE_FLAG:  # curl hands the peer's close frame to recv
                raise errors.UpstreamUnavailable(
                    f"upstream mgw socket closed before response.done (code {_close_code(payload)})"
                )
            try:
                frame = orjson.loads(payload)
            except orjson.JSONDecodeError:
                frame = None
            if not isinstance(frame, Mapping):
                # As on the REST stream, one garbled frame is skipped, not the turn failed:
                # the events that matter (attach, done, error) are checked by the turn.
                self.skipped += 1
                continue
            self._first_byte = None
            event = frame.get("event")
            if isinstance(event, Mapping) and event.get("type") in _KEEPALIVE_TYPES:
                continue
            self._last = time.monotonic()
            return frame

    def _expired(self, limit: float) -> None:
        if self._first_byte is not None:
            raise errors.FirstByteTimeout(f"upstream mgw sent no event within {limit:g}s")
        raise errors.StreamIdleTimeout(f"upstream mgw stream idle for more than {limit:g}s")

    async def close(self) -> None:
        """Send a close frame (bounded), then drop the connection."""
        with contextlib.suppress(Exception):  # closing is best effort
            await self.ws.close(timeout=CLOSE_GRACE_SECONDS)
        self.ws.terminate()
