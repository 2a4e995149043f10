"""The Imagine slot rules on hand-made frames: what counts as final, what is blocked."""

from __future__ import annotations

import base64
import types
from typing import Any

from grok_web import events as ev
from grok_web.imagine import ImagineRequest, _Tracker
from grok_web.options import ClientOptions


def tracker(count: int = 1, *, previews: bool = False) -> _Tracker:
    ctx: Any = types.SimpleNamespace(options=ClientOptions())
    request = ImagineRequest(prompt="x", count=count, previews=previews)
    return _Tracker(request=request, ctx=ctx, secrets=())


def blob(size: int) -> str:
    """Base64 at least ``size`` characters long (sizes are measured on the blob text)."""
    return base64.b64encode(b"\xff" * (size * 3 // 4 + 3)).decode()


def feed(track: _Tracker, *messages: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for message in messages:
        track.handle(message, out)
    return out


def test_a_slot_completed_on_a_medium_image_is_blocked_not_final() -> None:
    track = tracker()
    medium = blob(ClientOptions().imagine.medium_min_bytes + 10)

    out = feed(
        track,
        {"type": "image", "image_id": "a", "blob": medium, "percentage_complete": 60},
        {"type": "json", "current_status": "completed", "image_id": "a", "moderated": False},
    )

    assert not [e for e in out if isinstance(e, ev.ImageFinal)]
    assert out[-1].moderated  # reported as blocked
    assert track.done


def test_a_slot_completed_on_a_final_sized_image_is_final() -> None:
    track = tracker()
    final = blob(ClientOptions().imagine.final_min_bytes + 10)

    out = feed(
        track,
        {"type": "json", "current_status": "completed", "image_id": "a", "blob": final},
    )

    assert [type(e) for e in out] == [ev.ImageFinal]


def test_previews_carry_their_bytes_when_asked() -> None:
    frame = {"type": "image", "image_id": "a", "blob": base64.b64encode(b"png").decode(),
             "percentage_complete": 20}

    asked = feed(tracker(previews=True), frame)
    not_asked = feed(tracker(), frame)

    assert asked[0].stage == "preview" and asked[0].data == b"png"
    assert not_asked[0].data is None
