"""Delivery of an NDJSON answer over ASGI, shaped by stream faults.

Zero-latency and fault-free answers go out in one write; otherwise frame by frame with
the configured delays, stalls (wait until the client goes away), drops (end the app with
the body unfinished, so the server closes the connection), malformed lines and empty bodies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from .faults import FaultRule

MALFORMED_LINE = b'{"result":{"response":{"token":"broken\n'
DEFAULT_SLOW_FIRST_BYTE_MS = 2000.0
DEFAULT_SLOW_TOKEN_MS = 200.0


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """How to send the frames: delays in seconds, and where a stall/drop/malformed line goes."""

    first_byte_delay: float = 0.0
    frame_delay: float = 0.0
    stall_after: int | None = None
    drop_after: int | None = None
    malformed_at: int | None = None
    empty: bool = False

    @classmethod
    def from_faults(cls, fired: Mapping[str, FaultRule], *, token_delay_ms: float,
                    frame_count: int) -> Delivery:
        def param(kind: str, name: str, default: float) -> float:
            return float(fired[kind].params.get(name, default))

        middle = max(frame_count // 2, 2)
        return cls(
            first_byte_delay=(
                param("slow-first-byte", "delay_ms", DEFAULT_SLOW_FIRST_BYTE_MS) / 1000
                if "slow-first-byte" in fired else 0.0
            ),
            frame_delay=(param("slow-tokens", "delay_ms", DEFAULT_SLOW_TOKEN_MS)
                         if "slow-tokens" in fired else token_delay_ms) / 1000,
            stall_after=int(param("stall", "after_frames", middle)) if "stall" in fired else None,
            drop_after=int(param("drop", "after_frames", middle)) if "drop" in fired else None,
            malformed_at=(
                int(param("malformed", "after_frames", 2)) if "malformed" in fired else None
            ),
            empty="empty" in fired,
        )

    @property
    def single_write(self) -> bool:
        return (self.frame_delay <= 0 and self.stall_after is None and self.drop_after is None
                and not self.empty)


class NdjsonStream:
    """An ASGI response streaming `frames` as application/x-ndjson (status 200)."""

    def __init__(self, frames: list[bytes], delivery: Delivery) -> None:
        self.frames = list(frames)
        if delivery.malformed_at is not None:
            self.frames.insert(min(delivery.malformed_at, len(self.frames)), MALFORMED_LINE)
        self.delivery = delivery

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self.delivery
        if plan.first_byte_delay:
            await asyncio.sleep(plan.first_byte_delay)
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/x-ndjson; charset=utf-8"),
                        (b"cache-control", b"no-cache")],
        })
        if plan.empty:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if plan.single_write:
            await send({"type": "http.response.body", "body": b"".join(self.frames),
                        "more_body": False})
            return
        for index, frame in enumerate(self.frames):
            if plan.drop_after is not None and index >= plan.drop_after:
                # Returning with the body unfinished makes uvicorn close the transport: the
                # client sees the connection end mid-body (no terminating chunk).
                return
            if plan.stall_after is not None and index >= plan.stall_after:
                await _wait_for_disconnect(receive)
                return
            if plan.frame_delay and index:
                await asyncio.sleep(plan.frame_delay)
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue
