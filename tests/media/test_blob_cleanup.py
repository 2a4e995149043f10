"""The blob store's size cap: oldest first, down to the low-water mark, one cleaner at a time."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from grok2api_media import blobs, cleanup
from grok2api_media.blobs import BlobStore

HERE = Path(__file__).parent


async def fill(store: BlobStore, sizes: list[int], *, kind: Any = "image") -> list[str]:
    """Put one file per size, with mtimes one minute apart (the first is the oldest)."""
    ids = []
    base = time.time() - 3600
    for n, size in enumerate(sizes):
        file = await store.put_bytes(kind, b"x" * size, content_type="image/png")
        os.utime(store.root / kind / file.id, (base + 60 * n, base + 60 * n))
        ids.append(file.id)
    return ids


def present(store: BlobStore, kind: str = "image") -> set[str]:
    directory = store.root / kind
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


async def test_clean_removes_the_oldest_down_to_the_low_water_mark(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=10_000, auto_clean=False)
    ids = await fill(store, [1000] * 12)

    cleaned = await store.clean()

    assert cleaned is not None
    # 12 000 > 10 000: delete the oldest until at most 90 % (9 000) is left.
    assert (cleaned.removed_files, cleaned.removed_bytes) == (3, 3000)
    assert (cleaned.total_bytes, cleaned.files) == (9000, 9)
    assert present(store) == set(ids[3:])
    assert await store.usage() == (9000, 9)
    assert cleanup.LOW_WATER == 0.9


async def test_clean_does_nothing_at_or_under_the_limit(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=10_000, auto_clean=False)
    ids = await fill(store, [1000] * 10)

    cleaned = await store.clean()

    assert cleaned is not None and cleaned.removed_files == 0
    assert present(store) == set(ids)


async def test_clean_counts_every_kind_and_removes_the_oldest_across_them(
    tmp_path: Path,
) -> None:
    store = BlobStore(tmp_path, limit_bytes=4500, auto_clean=False)
    old_upload = (await fill(store, [2000], kind="upload"))[0]
    images = await fill(store, [1000] * 3)
    os.utime(store.root / "upload" / old_upload, (1, 1))

    cleaned = await store.clean()

    assert cleaned is not None and cleaned.removed_files == 1
    assert present(store, "upload") == set()
    assert present(store) == set(images)


async def test_auto_clean_after_put_never_removes_the_file_just_written(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=5000, auto_clean=True)
    older = await fill(store, [1000] * 4)
    assert present(store) == set(older)

    big = await store.put_bytes("image", b"y" * 6000, content_type="image/png")
    await store.settled()

    # Everything older went, and the new file stays even though it alone is over the limit.
    assert present(store) == {big.id}
    assert await store.read_bytes(big) == b"y" * 6000


async def test_a_put_does_not_wait_for_the_cleanup_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cleaning a full store takes a while (a scan, many deletes): the request whose put set
    # it off must not wait for it.
    store = BlobStore(tmp_path, limit_bytes=5000, auto_clean=True)
    await fill(store, [1000] * 4)
    await store.settled()
    started, release = threading.Event(), threading.Event()
    real = cleanup.clean_locked

    def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(cleanup, "clean_locked", held)
    big = await store.put_bytes("image", b"y" * 6000, content_type="image/png")
    assert await asyncio.to_thread(started.wait, 10)
    assert len(present(store)) == 5  # the put returned with the cleanup still running

    release.set()
    await store.settled()
    assert present(store) == {big.id}


async def test_the_newest_file_survives_even_an_explicit_clean(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=1000, auto_clean=False)
    ids = await fill(store, [800, 900, 2000])

    await store.clean()

    assert present(store) == {ids[-1]}


async def test_no_cleanup_when_auto_clean_is_off_or_there_is_no_limit(tmp_path: Path) -> None:
    off = BlobStore(tmp_path / "off", limit_bytes=1000, auto_clean=False)
    unlimited = BlobStore(tmp_path / "unlimited", limit_bytes=None)
    for store in (off, unlimited):
        for _ in range(5):
            await store.put_bytes("image", b"z" * 500, content_type="image/png")
        assert await store.usage() == (2500, 5)


async def test_puts_do_not_rescan_the_store_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    store = BlobStore(tmp_path, limit_bytes=100_000, auto_clean=True, clock=lambda: now[0])
    scans = 0
    real = store._scan

    def counting(**kwargs: Any) -> Any:
        nonlocal scans
        scans += 1
        return real(**kwargs)

    monkeypatch.setattr(store, "_scan", counting)

    for _ in range(10):
        await store.put_bytes("image", b"a" * 1000, content_type="image/png")
        await store.settled()
    assert scans == 1  # the first put learns the size of the store, then it is tracked

    for _ in range(blobs.RESCAN_EVERY):
        await store.put_bytes("image", b"a" * 100, content_type="image/png")
        await store.settled()
    assert scans == 1  # many puts in a moment: no rescan before RESCAN_SECONDS

    now[0] += blobs.RESCAN_SECONDS
    await store.put_bytes("image", b"a" * 100, content_type="image/png")
    await store.settled()
    assert scans == 2  # other processes write too: rescan after RESCAN_EVERY puts and time

    now[0] += blobs.RESCAN_SECONDS
    await store.put_bytes("image", b"a" * 100, content_type="image/png")
    await store.settled()
    assert scans == 2  # time alone does not rescan: RESCAN_EVERY puts are needed too

    await store.put_bytes("image", b"a" * 100_000, content_type="image/png")
    await store.settled()
    assert scans == 3  # crossing the limit cleans at once
    total, _files = await store.usage()
    assert total <= 100_000


async def test_stale_temporary_files_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=10_000, auto_clean=False)
    kept = await fill(store, [100])
    directory = store.root / "image"
    stale = directory / f"{blobs.TEMP_PREFIX}crashed"
    fresh = directory / f"{blobs.TEMP_PREFIX}writing"
    foreign = directory / "README"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"t" * 50_000)  # over the limit, yet not counted
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    os.utime(foreign, (two_hours_ago, two_hours_ago))

    cleaned = await store.clean()

    assert cleaned is not None
    assert (cleaned.removed_temps, cleaned.removed_files, cleaned.total_bytes) == (1, 0, 100)
    assert not stale.exists()
    assert fresh.exists() and foreign.exists()
    assert present(store) == {*kept, fresh.name, foreign.name}


async def test_clean_skips_while_another_cleaner_holds_the_lock(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=1000, auto_clean=False)
    ids = await fill(store, [1000] * 3)
    lock = os.open(tmp_path / cleanup.LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert await store.clean() is None
        assert present(store) == set(ids)
    finally:
        os.close(lock)
    assert await store.clean() is not None
    assert present(store) == {ids[-1]}


async def test_concurrent_cleans_in_one_process_run_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=10_000, auto_clean=False)
    await fill(store, [1000] * 20)

    results = await asyncio.gather(*(store.clean() for _ in range(5)))

    done = [r for r in results if r is not None]
    assert sum(r.removed_files for r in done) == 11
    assert await store.usage() == (9000, 9)


CLEANER = """
import asyncio, json, sys, time
from pathlib import Path
from grok2api_media.blobs import BlobStore

async def main():
    store = BlobStore(Path(sys.argv[1]), limit_bytes=int(sys.argv[2]), auto_clean=True)
    await asyncio.sleep(max(0.0, float(sys.argv[3]) - time.time()))
    removed = 0
    for _ in range(50):
        cleaned = await store.clean()
        if cleaned is not None:
            removed += cleaned.removed_files
    print(json.dumps({"removed": removed}))

asyncio.run(main())
"""


async def run_together(commands: list[list[str]]) -> list[tuple[int, str, str]]:
    """Run every command at once: (returncode, stdout, stderr) of each."""
    procs = [await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        for command in commands]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 60)
    return [(p.returncode or 0, out.decode(), err.decode())
            for p, (out, err) in zip(procs, outputs, strict=True)]


async def test_processes_cleaning_at_once_remove_each_file_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, limit_bytes=50_000, auto_clean=False)
    await fill(store, [1000] * 200)
    start_at = str(time.time() + 1.0)

    results = await run_together(
        [[sys.executable, "-c", CLEANER, str(tmp_path), "50000", start_at]] * 4
    )

    for returncode, _out, err in results:
        assert returncode == 0, err
        assert "Traceback" not in err
    removed = sum(json.loads(out)["removed"] for _code, out, _err in results)
    total, files = await store.usage()
    assert (total, files) == (45_000, 45)
    assert removed == 200 - 45  # no file counted by two cleaners, none left behind
    assert not any(p.name.startswith(blobs.TEMP_PREFIX) for p in (tmp_path / "image").iterdir())


async def test_processes_writing_and_cleaning_at_once_keep_a_consistent_store(
    tmp_path: Path,
) -> None:
    limit = 40_000
    store = BlobStore(tmp_path, limit_bytes=limit, auto_clean=False)
    prefilled = await fill(store, [1000] * 60)  # over the limit before anyone writes
    start_at = str(time.time() + 1.0)
    writer = str(HERE / "blob_writer.py")

    results = await run_together(
        [[sys.executable, writer, str(tmp_path), str(limit), "40", str(seed), start_at]
         for seed in range(4)]
    )

    written: dict[str, dict[str, int]] = {}
    for returncode, out, err in results:
        assert returncode == 0, err
        assert "Traceback" not in err
        for line in out.splitlines():
            entry = json.loads(line)
            written[entry["id"]] = entry
    assert len(written) == 160

    directory = tmp_path / "image"
    names = [p.name for p in directory.iterdir()]
    assert not [n for n in names if n.startswith(blobs.TEMP_PREFIX)]
    assert all(blobs.is_valid_id(n) for n in names)
    for name in names:
        if name in written:  # every surviving file is whole: its size, one byte value
            data = (directory / name).read_bytes()
            assert len(data) == written[name]["size"]
            assert data == bytes([written[name]["byte"]]) * len(data)
    total, files = await store.usage()
    assert files == len(names)
    # The writers cleaned as they went (the oldest files first): the prefilled ones are gone.
    # The store may end somewhat over the limit: a writer that found the lock taken skipped
    # its cleanup, and the next put or the next process cleans.
    assert not set(prefilled) & set(names)

    cleaned = await store.clean()
    assert cleaned is not None
    if total > limit:
        assert cleaned.total_bytes <= limit * cleanup.LOW_WATER
    else:
        assert cleaned.removed_files == 0
