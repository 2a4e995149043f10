"""Size-capped cleanup of the blob store, safe with several processes sharing its root.

Above the limit the oldest files (by mtime) are deleted until the store holds at most
``LOW_WATER`` of it, so cleanup does not run again on the very next put. One process cleans
at a time (a non-blocking ``flock`` on ``<root>/.clean.lock``; the others skip). A reader
that already has a file open keeps reading it after it is deleted (POSIX). Temporary files
of writes in progress are left alone unless untouched for ``STALE_TEMP_SECONDS`` (a crashed
writer). Everything here blocks: callers run it in a worker thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

LOCK_NAME: Final = ".clean.lock"
LOW_WATER: Final = 0.9  # cleanup deletes down to this fraction of the limit
STALE_TEMP_SECONDS: Final = 3600.0  # a temp file untouched this long is a crashed writer's

Entry = tuple[float, int, Path]
"""(mtime, size, path) of one stored file."""
Scan = Callable[..., tuple[list[Entry], int]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cleaned:
    """What one cleanup found and did. ``total_bytes``/``files``: what is left."""

    total_bytes: int
    files: int
    removed_files: int
    removed_bytes: int
    removed_temps: int


def scan(
    root: Path,
    kinds: Iterable[str],
    *,
    is_blob: Callable[[str], bool],
    temp_prefix: str,
    remove_stale: bool = False,
) -> tuple[list[Entry], int]:
    """Every stored file under ``root/<kind>/``, and how many stale temporary files were
    removed (only with ``remove_stale``)."""
    found: list[Entry] = []
    removed = 0
    now = time.time()
    for kind in kinds:
        try:
            listing = os.scandir(root / kind)
        except FileNotFoundError:
            continue
        with listing:
            for entry in listing:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if entry.name.startswith(temp_prefix):
                    if remove_stale and now - st.st_mtime > STALE_TEMP_SECONDS:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
                            removed += 1
                    continue
                if is_blob(entry.name):
                    found.append((st.st_mtime, st.st_size, Path(entry.path)))
    return found, removed


def clean_locked(root: Path, limit: int | None, keep: Path | None, scan: Scan) -> Cleaned | None:
    """``clean`` under the store's lock; None when another process holds it."""
    root.mkdir(parents=True, exist_ok=True)
    lock = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            raise
        return clean(limit, keep, scan)
    finally:
        os.close(lock)  # releases the flock


def clean(limit: int | None, keep: Path | None, scan: Scan) -> Cleaned:
    """Delete the oldest files while above ``limit``, down to ``LOW_WATER`` of it; never
    ``keep`` nor the newest file."""
    entries, removed_temps = scan(remove_stale=True)
    total = sum(size for _, size, _ in entries)
    files = len(entries)
    removed_files = removed_bytes = 0
    if limit is not None and total > limit and entries:
        target = int(limit * LOW_WATER)
        entries.sort(key=lambda entry: (entry[0], entry[2].name))
        protected = {entries[-1][2]} if keep is None else {entries[-1][2], keep}
        for _mtime, size, path in entries:
            if total <= target:
                break
            if path in protected:
                continue
            with contextlib.suppress(FileNotFoundError):  # deleted by someone else: gone
                path.unlink()
                removed_files += 1
                removed_bytes += size
            total -= size
            files -= 1
    return Cleaned(
        total_bytes=total, files=files, removed_files=removed_files,
        removed_bytes=removed_bytes, removed_temps=removed_temps,
    )


def remove_all(root: Path, kinds: list[str], scan: Scan) -> tuple[int, int]:
    """Delete every stored file of ``kinds``; (bytes, files) removed."""
    removed_bytes = removed_files = 0
    entries, _ = scan()
    for _mtime, size, path in entries:
        if path.parent.name not in kinds or path.parent.parent != root:
            continue
        with contextlib.suppress(FileNotFoundError):  # deleted by someone else: gone
            path.unlink()
            removed_bytes += size
            removed_files += 1
    return removed_bytes, removed_files
