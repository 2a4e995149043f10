"""Generated media sit in the documented size classes and are real files."""

from __future__ import annotations

import base64
import io
import struct

import pytest
from grok_sim import media
from PIL import Image

FINAL_MIN, MEDIUM_MIN = 100_000, 30_000


@pytest.mark.parametrize("variant", range(media.VARIANTS))
def test_every_variant_is_in_its_size_class(variant):
    final, medium = media.final_jpeg(variant), media.medium_png(variant)
    assert len(final) > FINAL_MIN and len(base64.b64encode(final)) > FINAL_MIN
    assert MEDIUM_MIN < len(medium) and len(base64.b64encode(medium)) < FINAL_MIN
    assert len(media.preview_jpeg(variant)) < MEDIUM_MIN
    assert len(media.preview_png(variant)) < MEDIUM_MIN
    assert Image.open(io.BytesIO(final)).format == "JPEG"
    assert Image.open(io.BytesIO(medium)).format == "PNG"


def test_variants_differ_and_repeat_deterministically():
    assert media.final_jpeg(0) != media.final_jpeg(1)
    assert media.variant_for("abc") == media.variant_for("abc")


def test_mp4_is_a_sequence_of_iso_boxes_starting_with_ftyp():
    data = media.mp4_video(0)
    kinds = []
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        assert size >= 8
        kinds.append(kind)
        offset += size
    assert offset == len(data)
    assert kinds == [b"ftyp", b"moov", b"mdat"]
    assert data[8:12] == b"isom"
