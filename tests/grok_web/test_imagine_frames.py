"""Imagine frames: a large frame's blob is handed over as a view of the frame, never parsed
or copied, and the parse otherwise equals ``orjson.loads`` whatever the frame looks like."""

from __future__ import annotations

import base64
import binascii
import types
from typing import Any

import orjson
import pytest
from grok_web import errors, imagine_frames
from grok_web import events as ev
from grok_web.imagine import ImagineRequest, _decode_blob, _Tracker
from grok_web.options import ClientOptions

BLOB = base64.b64encode(bytes(range(256)) * 600).decode()  # 204 800 characters


def frame(**fields: Any) -> bytes:
    return orjson.dumps({"type": "image", "image_id": "a", "url": "u/image.jpg", **fields})


def plain(parsed: Any) -> Any:
    """``parsed`` with its views as the text they stand for, to compare with orjson's."""
    if isinstance(parsed, dict):
        return {key: plain(value) for key, value in parsed.items()}
    if isinstance(parsed, memoryview):
        return bytes(parsed).decode()
    return parsed


def test_a_large_frames_blob_is_a_view_of_the_frame_not_a_copy() -> None:
    payload = frame(blob=BLOB, percentage_complete=100)

    parsed = imagine_frames.parse(payload)

    assert isinstance(parsed["blob"], memoryview)
    assert parsed["blob"].obj is payload
    assert parsed == {**orjson.loads(payload), "blob": parsed["blob"]}
    assert bytes(parsed["blob"]) == BLOB.encode()


@pytest.mark.parametrize(
    "payload",
    [
        frame(blob="c2hvcnQ="),  # small: parsed whole
        frame(blob=BLOB[:100] + "\\/" + BLOB[100:]),  # an escape: parsed whole
        frame(blob=BLOB, prompt='say "blob":"x"'),  # the key inside a string (escaped)
        frame(item={"blob": BLOB}, blob=""),  # a nested blob and an empty own one
        frame(item={"blob": BLOB}),  # only a nested blob
        b'{"type":"image","blob" : "' + BLOB.encode() + b'","n":{"blob":"' + b"QQ==" + b'"}}',
        b'{"type":"image","blob":"' + BLOB.encode() + b'","blob":"QQ=="}',  # duplicate keys
        b'[{"blob":"' + BLOB.encode() + b'"}]',  # not an object
    ],
)
def test_the_parse_equals_orjsons_whatever_the_frame(payload: bytes) -> None:
    assert plain(imagine_frames.parse(payload)) == orjson.loads(payload)


def test_a_frame_that_is_not_json_raises_as_orjson_does() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        imagine_frames.parse(b'{"type":"image","blob":"' + BLOB.encode() + b'"')


@pytest.mark.parametrize("prefix", ["", "data:image/jpeg;base64,"])
def test_a_final_from_a_viewed_blob_carries_the_decoded_image(prefix: str) -> None:
    ctx: Any = types.SimpleNamespace(options=ClientOptions())
    track = _Tracker(request=ImagineRequest(prompt="x", count=1), ctx=ctx, secrets=())
    out: list[Any] = []

    track.handle(imagine_frames.parse(frame(blob=prefix + BLOB, percentage_complete=100)), out)

    assert [type(event) for event in out] == [ev.ImageFinal]
    assert out[0].data == base64.b64decode(BLOB)


IMAGE = bytes(range(256)) * 600


@pytest.mark.parametrize(
    ("blob", "image"),
    [
        (BLOB, IMAGE),  # plain base64: the vectorised decoder
        (memoryview(BLOB.encode()), IMAGE),  # a view of the frame, as imagine_frames hands it
        ("\n".join(BLOB[i : i + 76] for i in range(0, len(BLOB), 76)), IMAGE),  # MIME lines
        ("QUJD*RA==", b"ABCD"),  # a stray character: skipped, as binascii always did
    ],
)
def test_a_blob_decodes_as_binascii_decodes_it(blob: str | memoryview, image: bytes) -> None:
    assert _decode_blob(blob) == image == binascii.a2b_base64(blob)


@pytest.mark.parametrize("blob", ["QUJDRA", "data:image/png;base64"])
def test_a_blob_that_is_not_base64_is_a_malformed_answer(blob: str) -> None:
    with pytest.raises(errors.MalformedResponse):
        _decode_blob(blob)
