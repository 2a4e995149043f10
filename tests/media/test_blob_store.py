"""The blob store: writing, reading, ids, and ids that must never reach the filesystem."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from grok2api_media import blobs, cleanup
from grok2api_media.blobs import BlobNotFound, BlobStore, BlobTooLarge
from grok2api_media.jobs import MediaFile
from grok2api_settings import Settings

ID = re.compile(r"\A[A-Za-z0-9_-]{32}\.[a-z0-9]+\Z")


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "media", limit_bytes=None)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def chunked(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


@pytest.mark.parametrize(
    ("kind", "content_type", "ext", "stored_type"),
    [
        ("image", "image/jpeg", "jpg", "image/jpeg"),
        ("image", "image/png", "png", "image/png"),
        ("image", "image/webp", "webp", "image/webp"),
        ("image", "image/gif", "gif", "image/gif"),
        ("image", "image/jpg", "jpg", "image/jpeg"),
        ("image", "Image/JPEG; charset=binary", "jpg", "image/jpeg"),
        ("video", "video/mp4", "mp4", "video/mp4"),
        ("video", "video/webm", "webm", "video/webm"),
        ("upload", "image/png", "png", "image/png"),
    ],
)
async def test_put_then_open_round_trip(
    store: BlobStore, kind: Any, content_type: str, ext: str, stored_type: str
) -> None:
    data = os.urandom(3000)
    file = await store.put_bytes(kind, data, content_type=content_type, width=640, height=480)

    assert ID.fullmatch(file.id) and file.id.endswith("." + ext)
    assert file == MediaFile(kind=kind, id=file.id, content_type=stored_type, size=3000,
                             width=640, height=480)
    found = await store.open(kind, file.id)
    assert found is not None
    assert found.path == store.root / kind / file.id
    assert (found.size, found.content_type, found.kind, found.id) == (
        3000, stored_type, kind, file.id)
    assert found.etag.startswith('"') and found.etag.endswith('"')
    assert await store.read_bytes(file) == data
    assert blobs.content_type_for(file.id) == stored_type


async def test_streamed_put_writes_every_chunk_in_order(store: BlobStore) -> None:
    parts = [os.urandom(n) for n in (1, 100_000, 300_000, 0, 70_000, 5)]
    file = await store.put("video", chunked(*parts), content_type="video/mp4")

    assert file.size == sum(map(len, parts))
    assert await store.read_bytes(file) == b"".join(parts)


async def test_ids_are_unique_and_unguessable(store: BlobStore) -> None:
    ids = {(await store.put_bytes("image", b"x", content_type="image/png")).id
           for _ in range(50)}
    assert len(ids) == 50
    assert all(ID.fullmatch(i) for i in ids)


async def test_etag_is_stable_and_differs_between_files(store: BlobStore) -> None:
    a = await store.put_bytes("image", b"same", content_type="image/png")
    b = await store.put_bytes("image", b"same", content_type="image/png")
    first, again, other = (await store.open("image", a.id), await store.open("image", a.id),
                           await store.open("image", b.id))
    assert first is not None and again is not None and other is not None
    assert first.etag == again.etag != other.etag
    assert a.id not in first.etag


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("image", "text/html"),
        ("image", "image/svg+xml"),
        ("image", "application/octet-stream"),
        ("image", ""),
        ("image", "video/mp4"),
        ("video", "image/png"),
        ("audio", "video/mp4"),
        ("../image", "image/png"),
    ],
)
async def test_refuses_other_types_and_kinds_before_reading(
    store: BlobStore, kind: Any, content_type: str
) -> None:
    read = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        read = True
        yield b"<script>"

    with pytest.raises(ValueError):
        await store.put(kind, body(), content_type=content_type)
    assert not read
    assert not store.root.exists() or files_under(store.root) == []


async def test_temporary_files_are_invisible_while_a_put_is_in_progress(
    store: BlobStore,
) -> None:
    written, release = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"a" * 300_000  # past the flush threshold: written before the next is asked
        written.set()
        await release.wait()
        yield b"b"

    task = asyncio.create_task(store.put("image", slow(), content_type="image/png"))
    await written.wait()
    [temp] = list((store.root / "image").iterdir())
    assert temp.name.startswith(blobs.TEMP_PREFIX)
    assert temp.stat().st_size == 300_000
    assert await store.open("image", temp.name) is None
    assert await store.usage() == (0, 0)

    release.set()
    file = await task
    assert [p.name for p in (store.root / "image").iterdir()] == [file.id]
    assert await store.usage() == (300_001, 1)


async def test_a_small_file_takes_one_thread_hop(
    store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    real = asyncio.to_thread

    async def counting(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(func.__name__)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(blobs.asyncio, "to_thread", counting)
    small = await store.put_bytes("image", b"i" * 200_000, content_type="image/jpeg")
    assert hops == ["commit_to"]  # created, written and moved into place in one go
    hops.clear()
    large = await store.put("video", chunked(b"v" * 300_000, b"w" * 10), content_type="video/mp4")
    assert hops == ["write_to", "commit_to"]  # one flush past _FLUSH_BYTES, then the rest
    assert await store.read_bytes(small) == b"i" * 200_000
    assert await store.read_bytes(large) == b"v" * 300_000 + b"w" * 10
    assert sorted(files_under(store.root)) == sorted([f"image/{small.id}", f"video/{large.id}"])


async def test_an_empty_file_left_by_a_crash_is_missing(store: BlobStore) -> None:
    file = await store.put_bytes("image", b"data", content_type="image/png")
    path = store.path_of("image", file.id)
    assert path is not None
    path.write_bytes(b"")  # as a machine crash leaves a file whose data never reached disk
    assert await store.open("image", file.id) is None
    with pytest.raises(BlobNotFound):
        await store.read_bytes(file)


async def test_max_bytes_aborts_and_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(BlobTooLarge) as caught:
        await store.put("video", chunked(b"x" * 400_000, b"y" * 400_000, b"z"),
                        content_type="video/mp4", max_bytes=500_000)
    assert caught.value.limit == 500_000
    assert isinstance(caught.value, ValueError)
    assert files_under(store.root) == []

    exact = await store.put_bytes("image", b"x" * 10, content_type="image/png", max_bytes=10)
    assert exact.size == 10


async def test_a_failing_stream_leaves_nothing(store: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 400_000
        raise ConnectionResetError("upstream went away")

    with pytest.raises(ConnectionResetError):
        await store.put("image", broken(), content_type="image/jpeg")
    assert files_under(store.root) == []


async def test_a_cancelled_put_leaves_nothing(store: BlobStore) -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 100_000
            await asyncio.sleep(0.001)

    task = asyncio.create_task(store.put("video", endless(), content_type="video/mp4"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_under(store.root) == []


async def test_delete(store: BlobStore) -> None:
    file = await store.put_bytes("image", b"data", content_type="image/webp")
    assert await store.delete("image", file.id) is True
    assert await store.delete("image", file.id) is False
    assert await store.open("image", file.id) is None
    with pytest.raises(BlobNotFound):
        await store.read_bytes(file)
    with pytest.raises(FileNotFoundError):  # BlobNotFound is one
        await store.read_bytes(file)


async def test_wrong_kind_finds_nothing(store: BlobStore) -> None:
    file = await store.put_bytes("upload", b"data", content_type="image/png")
    assert await store.open("image", file.id) is None
    assert await store.open("upload", file.id) is not None


async def test_an_open_file_stays_readable_after_delete(store: BlobStore) -> None:
    file = await store.put_bytes("video", b"v" * 5000, content_type="video/mp4")
    found = await store.open("video", file.id)
    assert found is not None
    fd = os.open(found.path, os.O_RDONLY)
    try:
        assert await store.delete("video", file.id)
        assert os.pread(fd, 5000, 0) == b"v" * 5000
    finally:
        os.close(fd)


async def test_usage_counts_every_kind(store: BlobStore) -> None:
    assert await store.usage() == (0, 0)  # the root does not even exist yet
    await store.put_bytes("image", b"1" * 10, content_type="image/png")
    await store.put_bytes("video", b"2" * 20, content_type="video/mp4")
    await store.put_bytes("upload", b"3" * 30, content_type="image/jpeg")
    (store.root / "image" / "notes.txt").write_text("not a blob")
    assert await store.usage() == (60, 3)


VALID = "A" * 32 + ".png"

NASTY_IDS = [
    "",
    ".",
    "..",
    "../secret.png",
    "../../etc/passwd",
    "..%2fsecret.png",
    "%2e%2e%2fsecret.png",
    "/etc/passwd",
    "/" + VALID,
    VALID + "/..",
    "image/" + VALID,
    "..\\" + VALID,
    VALID + "\x00.png",
    VALID + "\n",
    VALID + " ",
    " " + VALID,
    "A" * 32 + ".PNG",
    "A" * 32 + ".exe",
    "A" * 32 + ".svg",
    "A" * 32 + ".html",
    "A" * 32,
    "A" * 31 + ".png",
    "A" * 33 + ".png",
    "A" * 32 + ".png.png",
    "A" * 31 + "=.png",
    "A" * 31 + "é.png",
    "A" * 31 + "\u0661.png",  # an Arabic-Indic digit: \d would match it
    blobs.TEMP_PREFIX + "A" * 27 + ".png",
    cleanup.LOCK_NAME,
    "secret.png",
]


@pytest.mark.parametrize("blob_id", NASTY_IDS)
async def test_nasty_ids_never_reach_the_filesystem(
    store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blob_id: str
) -> None:
    (tmp_path / "secret.png").write_bytes(b"outside the store")
    (store.root / "image").mkdir(parents=True)
    (store.root / "image" / VALID.replace("A", "B")).write_bytes(b"inside")
    touched: list[Any] = []
    real = asyncio.to_thread

    async def spy(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        touched.append((func, args))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(blobs.asyncio, "to_thread", spy)
    fake = MediaFile(kind="image", id=blob_id, content_type="image/png", size=1)

    assert store.path_of("image", blob_id) is None
    assert await store.open("image", blob_id) is None
    assert await store.delete("image", blob_id) is False
    with pytest.raises(BlobNotFound):
        await store.read_bytes(fake)
    with pytest.raises(ValueError):
        blobs.file_url("http://x", fake)
    assert touched == []
    assert (tmp_path / "secret.png").read_bytes() == b"outside the store"


@pytest.mark.parametrize("kind", ["", ".", "..", "../image", "image/..", "/image", "IMAGE"])
async def test_nasty_kinds_never_reach_the_filesystem(store: BlobStore, kind: str) -> None:
    assert store.path_of(kind, VALID) is None
    assert await store.open(kind, VALID) is None
    assert await store.delete(kind, VALID) is False


async def test_symlinks_are_not_served(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(b"outside the store")
    (store.root / "image").mkdir(parents=True)
    (store.root / "image" / VALID).symlink_to(tmp_path / "secret.png")
    assert await store.open("image", VALID) is None
    with pytest.raises(BlobNotFound):
        await store.read_bytes(MediaFile(kind="image", id=VALID, content_type="image/png",
                                         size=1))


def test_file_url() -> None:
    image = MediaFile(kind="image", id=VALID, content_type="image/png", size=1)
    video = MediaFile(kind="video", id="v" * 32 + ".mp4", content_type="video/mp4", size=1)
    upload = MediaFile(kind="upload", id=VALID, content_type="image/png", size=1)

    assert blobs.file_url("https://api.example.com/", image) == (
        f"https://api.example.com/v1/files/image/{VALID}")
    assert blobs.file_url("http://127.0.0.1:8000", video) == (
        f"http://127.0.0.1:8000/v1/files/video/{'v' * 32}.mp4")
    assert blobs.file_url("https://h/prefix//", image) == f"https://h/prefix/v1/files/image/{VALID}"
    with pytest.raises(ValueError):
        blobs.file_url("http://x", upload)


def test_from_settings(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"data_dir": str(tmp_path), "cache": {"limit_mb": 5, "enable_auto_clean": False}}
    )
    store = BlobStore.from_settings(settings)
    assert store.root == tmp_path / "media"
    assert store.limit_bytes == 5 * 1024 * 1024
    assert store.auto_clean is False
