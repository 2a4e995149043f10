"""Imagine WebSocket image generation (protocol §11.3, v2.x messages).

Each image slot is tracked from its frames: an ``image`` frame's blob size picks the
stage (``image.image_ws_medium_min_bytes`` → medium, ``image_ws_final_min_bytes`` →
final); a ``json`` frame with ``current_status: completed`` closes the slot (its
last blob is final unless ``moderated`` or smaller than a final image: a completed
slot whose best image is a preview is blocked, never passed off as final). A slot that
showed a medium preview but no final within ``image_ws_blocked_seconds`` is blocked.
No final at all → the call raises :class:`errors.ContentBlocked` (blocked/moderated) or
EmptyStream.

An account the upstream does not offer Imagine to gets :class:`errors.ProductUnavailable`:
the handshake refused with a 403 JSON answer (a policy refusal, not a Cloudflare page), or
an in-band ``error`` frame naming the missing feature (``translate.from_media_inband``).
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Literal

import orjson
import pybase64
from curl_cffi import CurlError
from curl_cffi.const import CurlWsFlag
from curl_cffi.requests.websockets import WebSocketClosed, WebSocketTimeout

from grok_web import context, errors, imagine_frames, translate
from grok_web import events as ev
from grok_web.socket_slots import UpstreamSocket

LISTEN = "/ws/imagine/listen"
CLOSE_GRACE_SECONDS = 2.0
_DATA_URL_HEAD = 256  # where a data URL's comma must be (``data:image/jpeg;base64,``)


@dataclasses.dataclass(frozen=True, slots=True)
class ImagineRequest:
    """``count`` images for ``prompt``; ``nsfw`` None = image.image_ws_nsfw; ``previews``:
    decode preview images into ``ImageProgress.data`` (costs a base64 decode per frame)."""

    prompt: str
    count: int = 2
    aspect_ratio: str = "2:3"
    nsfw: bool | None = None
    pro: bool = False
    previews: bool = False


Blob = str | memoryview  # base64 text; a view of the frame's bytes for large frames


@dataclasses.dataclass(slots=True)
class _Slot:
    blob: Blob = ""
    url: str = ""
    medium_at: float | None = None
    terminal: bool = False


def ws_url(base_url: str) -> str:
    """ws(s):// URL of the Imagine listener for an http(s) base URL."""
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://") :] + LISTEN
    return "ws://" + base_url.removeprefix("http://") + LISTEN


def messages(request: ImagineRequest, *, nsfw: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reset and prompt client messages."""
    now = int(time.time() * 1000)
    reset = {
        "type": "conversation.item.create",
        "timestamp": now,
        "item": {"type": "message", "content": [{"type": "reset"}]},
    }
    properties = {
        "section_count": 0,
        "is_kids_mode": False,
        "enable_nsfw": nsfw,
        "skip_upsampler": False,
        "is_initial": False,
        "aspect_ratio": request.aspect_ratio,
        "enable_side_by_side": True,
        "enable_pro": request.pro,
        # How many images the session should make (HEAD's property; at most 10).
        "num_generations": max(1, min(request.count, 10)),
    }
    prompt = {
        "type": "conversation.item.create",
        "timestamp": now,
        "item": {
            "type": "message",
            "content": [
                {
                    "requestId": str(uuid.uuid4()),
                    "text": request.prompt,
                    "type": "input_text",
                    "properties": properties,
                }
            ],
        },
    }
    return reset, prompt


async def imagine(
    *, ctx: context.Context, credential: str, request: ImagineRequest
) -> AsyncIterator[ev.ImageProgress | ev.ImageFinal]:
    """Generate images over the WebSocket, yielding progress and final events."""
    opts = ctx.options.imagine
    secrets = (credential,)
    headers = ctx.headers.websocket(credential=credential, origin=ctx.origin)
    with translate.product_refusals():
        ws = await ctx.transport.websocket(
            ws_url(ctx.options.endpoints.base_url), headers=headers, secrets=secrets
        )
    tracker = _Tracker(request=request, ctx=ctx, secrets=secrets)
    try:
        nsfw = opts.nsfw if request.nsfw is None else request.nsfw
        await _send(ws, messages(request, nsfw=nsfw), secrets=secrets)
        while not tracker.done:
            raw = await _receive(ws, wait=tracker.wait_time(), secrets=secrets)
            out: list[Any] = []
            if raw is None:
                tracker.expire(out, closed=False)
            elif raw is _CLOSED:
                tracker.expire(out, closed=True)
            else:
                try:
                    tracker.handle(raw, out)
                except (AttributeError, TypeError, ValueError) as exc:
                    raise translate.malformed("unexpected imagine frame shape", exc=exc) from exc
            for event in out:
                yield event
    except BaseException:
        ws.terminate()  # cancelled or failed: drop the connection at once
        raise
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_GRACE_SECONDS):
            await ws.close()
    ws.terminate()
    tracker.raise_if_nothing()


_CLOSED = object()
_CLOSE_FLAG = int(CurlWsFlag.CLOSE)


async def _send(
    ws: UpstreamSocket, payloads: Iterable[Mapping[str, Any]], *, secrets: tuple[str, ...]
) -> None:
    for payload in payloads:
        try:
            await ws.send_str(orjson.dumps(payload).decode())
        except CurlError as exc:
            raise translate.from_transport(exc, secrets=secrets) from exc


async def _receive(ws: UpstreamSocket, *, wait: float, secrets: tuple[str, ...]) -> Any:
    """One decoded JSON message; None on timeout; _CLOSED when the server closed. The
    socket's own timeout: a timer only while it waits, none for a frame already there."""
    try:
        payload, flags = await ws.recv(timeout=max(wait, 0.01))
    except WebSocketTimeout:
        return None
    except WebSocketClosed:
        return _CLOSED
    except CurlError as exc:
        raise translate.from_transport(exc, secrets=secrets) from exc
    if flags & _CLOSE_FLAG:  # curl hands the peer's close frame to recv as a message
        return _CLOSED
    try:
        return imagine_frames.parse(payload)
    except orjson.JSONDecodeError as exc:
        raise translate.malformed("imagine frame is not JSON", exc=exc) from exc


class _Tracker:
    """Slot bookkeeping for one imagine round."""

    def __init__(
        self, *, request: ImagineRequest, ctx: context.Context, secrets: tuple[str, ...]
    ) -> None:
        self._opts = ctx.options.imagine
        self._idle = ctx.options.timeouts.stream_idle
        self._want = max(1, request.count)
        self._previews = request.previews
        self._secrets = secrets
        self._slots: dict[str, _Slot] = {}
        self._finals: set[str] = set()
        self._blocked = 0
        self._last = time.monotonic()
        self.done = False

    def wait_time(self) -> float:
        now = time.monotonic()
        wait = self._idle - (now - self._last)
        for slot in self._slots.values():
            if slot.medium_at is not None and not slot.terminal:
                wait = min(wait, slot.medium_at + self._opts.blocked_seconds - now)
        return wait

    def handle(self, message: Any, out: list[Any]) -> None:
        self._last = time.monotonic()
        if not isinstance(message, Mapping):
            return
        kind = message.get("type")
        if kind == "error":
            error = {"code": message.get("err_code"), "message": message.get("err_msg") or ""}
            raise translate.from_media_inband(error, secrets=self._secrets)
        slot_id = str(
            message.get("image_id")
            or message.get("job_id")
            or message.get("id")
            or message.get("order", message.get("side_by_side_index", ""))
        )
        slot = self._slots.setdefault(slot_id, _Slot())
        if kind == "image":
            self._on_image(slot_id, slot, message, out)
        elif kind == "json" and message.get("current_status") == "completed":
            if message.get("blob"):
                slot.blob = _blob_of(message["blob"])
            slot.url = str(message.get("url") or slot.url)
            if message.get("moderated"):
                self._block(slot_id, slot, out)
            elif slot.terminal:
                pass
            elif slot.blob and len(slot.blob) < self._opts.final_min_bytes:
                # Completed on a preview or medium image: never hand that out as final.
                self._block(slot_id, slot, out)
            else:
                self._final(slot_id, slot, message, out)
        self._check_done()

    def _on_image(
        self, slot_id: str, slot: _Slot, message: Mapping[str, Any], out: list[Any]
    ) -> None:
        if slot.terminal:
            return
        slot.blob = _blob_of(message.get("blob") or slot.blob)
        slot.url = str(message.get("url") or slot.url)
        size = len(slot.blob)
        progress = int(message.get("percentage_complete") or 0)
        if size >= self._opts.final_min_bytes:
            self._final(slot_id, slot, message, out)
            return
        stage: Literal["preview", "medium"] = (
            "medium" if size >= self._opts.medium_min_bytes else "preview"
        )
        if stage == "medium" and slot.medium_at is None:
            slot.medium_at = time.monotonic()
        preview = _decode_blob(slot.blob) if self._previews and slot.blob else None
        out.append(ev.ImageProgress(slot_id, min(progress, 99), slot.url, stage, data=preview))

    def _final(self, slot_id: str, slot: _Slot, message: Mapping[str, Any], out: list[Any]) -> None:
        slot.terminal = True
        if not slot.blob and not slot.url:
            self._blocked += 1
            return
        self._finals.add(slot_id)
        out.append(
            ev.ImageFinal(
                image_id=slot_id,
                url=slot.url,
                data=_decode_blob(slot.blob) if slot.blob else None,
                width=_opt_int(message.get("width")),
                height=_opt_int(message.get("height")),
            )
        )

    def _block(self, slot_id: str, slot: _Slot, out: list[Any]) -> None:
        slot.terminal = True
        self._blocked += 1
        out.append(ev.ImageProgress(slot_id, 100, slot.url, "medium", moderated=True))

    def expire(self, out: list[Any], *, closed: bool) -> None:
        now = time.monotonic()
        for slot_id, slot in self._slots.items():
            if slot.terminal:
                continue
            late = slot.medium_at is not None and now - slot.medium_at >= self._opts.blocked_seconds
            if late or closed or now - self._last >= self._idle:
                self._block(slot_id, slot, out)
        idle = now - self._last >= self._idle
        if idle and not self._slots:
            raise errors.StreamIdleTimeout(f"imagine sent nothing for more than {self._idle:g}s")
        if closed or idle:
            self.done = True
        self._check_done()

    def _check_done(self) -> None:
        if len(self._finals) >= self._want:
            self.done = True
        elif len(self._slots) >= self._want and all(s.terminal for s in self._slots.values()):
            self.done = True

    def raise_if_nothing(self) -> None:
        if self._finals:
            return
        if self._blocked:
            raise errors.ContentBlocked("imagine produced no final image (blocked or moderated)")
        raise errors.EmptyStream("imagine connection ended without images")


def _blob_of(value: Any) -> Blob:
    return value if isinstance(value, str | memoryview) else str(value)


def _decode_blob(blob: Blob) -> bytes:
    """The image in ``blob`` (base64, maybe a ``data:`` URL), decoded straight from a view.

    A final image is about a megabyte of base64, and decoding it was the largest single cost
    of an image job: pybase64's vectorised decoder takes it when the text is plain base64
    (the usual case, 30 times faster than ``binascii``); anything else (line breaks, stray
    characters) is decoded leniently by ``binascii`` as before."""
    data = _base64_of(blob)
    try:
        return pybase64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError) as exc:
        raise translate.malformed("imagine blob is not base64", exc=exc) from exc


def _base64_of(blob: Blob) -> Blob:
    """``blob`` without the ``data:…,`` head of a data URL."""
    if isinstance(blob, str):
        if not blob.startswith("data:"):
            return blob
        at = blob.find(",", 0, _DATA_URL_HEAD)
    else:
        if blob[:5] != b"data:":
            return blob
        at = bytes(blob[:_DATA_URL_HEAD]).find(b",")
    if at < 0:
        raise translate.malformed("imagine blob is a data URL without data")
    return blob[at + 1 :]


def _opt_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
