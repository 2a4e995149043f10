"""Real media bytes in the documented size classes, deterministic and cached.

Size classes (raw bytes; base64 lengths fall in the same classes):
- preview JPEG   < 30 000 bytes          (`-part-` previews in chat, video thumbnails)
- preview PNG    < 30 000 bytes          (Imagine WS first frame)
- medium PNG     30 000 - 70 000 bytes   (between image_ws_medium_min_bytes and final;
                                          its base64 stays below 100 000 characters too)
- final JPEG     > 100 000 bytes         (above image_ws_final_min_bytes)
- video MP4      a small ISO-BMFF file (ftyp + moov/mvhd/trak + mdat)
"""

from __future__ import annotations

import io
import random
import struct
from functools import lru_cache

from PIL import Image

VARIANTS = 8
MEDIUM_RANGE = (30_000, 70_000)
FINAL_MIN = 100_000


def variant_for(key: str) -> int:
    """Which cached variant a given asset id uses (stable across runs)."""
    return sum(key.encode()) % VARIANTS


@lru_cache(maxsize=VARIANTS)
def final_jpeg(variant: int) -> bytes:
    data = _noise_image(side=448, variant=variant, kind="JPEG", quality=85)
    assert len(data) > FINAL_MIN, len(data)
    return data


@lru_cache(maxsize=VARIANTS)
def medium_png(variant: int) -> bytes:
    rng = random.Random(1000 + variant)
    image = Image.frombytes("RGB", (140, 120), rng.randbytes(140 * 120 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    assert MEDIUM_RANGE[0] < len(data) < MEDIUM_RANGE[1], len(data)
    return data


@lru_cache(maxsize=VARIANTS)
def preview_jpeg(variant: int) -> bytes:
    data = _noise_image(side=96, variant=variant, kind="JPEG", quality=60)
    assert len(data) < MEDIUM_RANGE[0], len(data)
    return data


@lru_cache(maxsize=VARIANTS)
def preview_png(variant: int) -> bytes:
    rng = random.Random(3000 + variant)
    image = Image.frombytes("RGB", (40, 40), rng.randbytes(40 * 40 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@lru_cache(maxsize=VARIANTS)
def mp4_video(variant: int) -> bytes:
    """A small MP4 (ISO base media file): ftyp, moov with mvhd and one video trak, mdat."""
    payload = random.Random(2000 + variant).randbytes(4096)
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mvhd = _full_box(
        b"mvhd",
        struct.pack(">IIII", 0, 0, 1000, 6000)
        + struct.pack(">IH", 0x00010000, 0x0100)
        + bytes(10)
        + _matrix()
        + bytes(24)
        + struct.pack(">I", 2),
    )
    tkhd = _full_box(
        b"tkhd",
        struct.pack(">IIIII", 0, 0, 1, 0, 6000) + bytes(8) + struct.pack(">HHHH", 0, 0, 0, 0)
        + _matrix() + struct.pack(">II", 1280 << 16, 720 << 16),
        flags=3,
    )
    mdhd = _full_box(b"mdhd", struct.pack(">IIIIHH", 0, 0, 24, 144, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", struct.pack(">I", 0) + b"vide" + bytes(12) + b"VideoHandler\x00")
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", struct.pack(">I", 0))
        + _full_box(b"stts", struct.pack(">I", 0))
        + _full_box(b"stsc", struct.pack(">I", 0))
        + _full_box(b"stsz", struct.pack(">II", 0, 0))
        + _full_box(b"stco", struct.pack(">I", 0)),
    )
    url_box = _full_box(b"url ", b"", flags=1)
    dinf = _box(b"dinf", _full_box(b"dref", struct.pack(">I", 1) + url_box))
    minf = _box(b"minf", _full_box(b"vmhd", bytes(8), flags=1) + dinf + stbl)
    trak = _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr + minf))
    moov = _box(b"moov", mvhd + trak)
    return ftyp + moov + _box(b"mdat", payload)


def _noise_image(*, side: int, variant: int, kind: str, quality: int) -> bytes:
    rng = random.Random(variant * 7919 + side)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, kind, quality=quality)
    return buffer.getvalue()


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, body: bytes, *, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", flags & 0xFFFFFF) + body)


def _matrix() -> bytes:
    return struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
