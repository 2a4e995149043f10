"""The blob store: generated and uploaded media files in a directory.

Layout: ``<root>/<kind>/<id>`` with ``kind`` one of ``image``, ``video``, ``upload`` and
``root`` = ``DATA_DIR/media`` by default. On Kubernetes the root is a shared volume that
several gateways and media workers use at once, from different processes and pods, so
everything here is safe without any in-memory coordination:

* A file is written under a temporary name (``.tmp-…``, never a valid id) in its final
  directory and ``os.replace``-d into place: readers see a whole file or none. Files are
  immutable once in place. Writes are not ``fsync``-ed (that cost about 4 ms per image on
  the benchmark VM's disk, most of what a one-image request waited on the store): the store
  is a cache, and a file a machine crash left empty (written, not yet on disk) is treated as
  missing, never served.
* An id is 32 url-safe characters from ``secrets.token_urlsafe(24)`` (192 random bits: the
  id is the capability to read the file) plus the extension of its content type, so the
  content type is known from the id alone (``…​.jpg`` → ``image/jpeg``).
* Every id from outside is checked against a strict pattern before anything touches the
  filesystem: nothing but ``<root>/<kind>/<32 url-safe chars>.<known extension>`` can ever
  be named.
* Size-capped cleanup, oldest first, one process at a time: see ``cleanup``. A put that
  finds the store due for it starts it in the background and returns: a cleanup of a full
  store (a scan of thousands of files, hundreds deleted) took 0.3-0.9 s, which the request
  whose put set it off used to wait out.

File I/O never runs on the event loop: it goes to worker threads (``asyncio.to_thread``),
one hop for a file that fits in ``_FLUSH_BYTES`` (every image), more only for larger ones.
The store is a cache, not durable storage: a file may expire from it at any time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final, get_args

from . import cleanup
from .cleanup import Cleaned
from .jobs import BlobKind, MediaFile
from .temp_files import TEMP_PREFIX, TempWriter

if TYPE_CHECKING:
    from grok2api_settings import Settings

log = logging.getLogger(__name__)

BLOB_KINDS: Final[tuple[str, ...]] = get_args(BlobKind)

# content type → extension; the reverse map gives a file's content type from its id.
EXTENSIONS: Final[dict[str, str]] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
CONTENT_TYPES: Final[dict[str, str]] = {ext: ctype for ctype, ext in EXTENSIONS.items()}
_ALIASES: Final[dict[str, str]] = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}

ID_LENGTH: Final = 32  # len(secrets.token_urlsafe(24))
_ID: Final = re.compile(
    r"\A[A-Za-z0-9_-]{%d}\.(?:%s)\Z" % (ID_LENGTH, "|".join(sorted(CONTENT_TYPES)))  # noqa: UP031
)

# Full rescans (other processes write too) after at least RESCAN_EVERY puts and
# RESCAN_SECONDS: a scan stats every file (about 20 ms for 3000), so a rescan bounded by
# puts alone cost a busy worker more per image the fuller its store was.
RESCAN_EVERY: Final = 32
RESCAN_SECONDS: Final = 10.0
_FLUSH_BYTES: Final = 256 * 1024  # chunks are gathered up to this much per thread hop


class BlobNotFound(FileNotFoundError):
    """The file does not exist (never did, was deleted, or expired from the cache)."""


class BlobTooLarge(ValueError):
    """A put went past its ``max_bytes``; nothing was stored."""

    def __init__(self, limit: int):
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredBlob:
    """A file in the store, as ``BlobStore.open`` found it."""

    kind: str
    id: str
    path: Path
    size: int
    mtime: float
    content_type: str
    etag: str  # strong, quoted: the content never changes under an id


def content_type_for(blob_id: str) -> str | None:
    """The content type a valid id stands for; None for anything else."""
    if not _ID.fullmatch(blob_id):
        return None
    return CONTENT_TYPES[blob_id.rsplit(".", 1)[1]]


def is_valid_id(blob_id: str) -> bool:
    return _ID.fullmatch(blob_id) is not None


def etag_for(blob_id: str, size: int) -> str:
    """A strong ETag from the id and size (files are immutable), without echoing the id."""
    digest = hashlib.blake2b(f"{blob_id}:{size}".encode(), digest_size=16).hexdigest()
    return f'"{digest}"'


def file_url(app_url: str, file: MediaFile) -> str:
    """``<app_url>/v1/files/<kind>/<id>``: where every gateway serves ``file``.

    Raises ``ValueError`` for uploads (never served) and ids that are not the store's."""
    if file.kind not in ("image", "video"):
        raise ValueError(f"{file.kind} files are not served")
    if not is_valid_id(file.id):
        raise ValueError("not a blob store id")
    return f"{app_url.rstrip('/')}/v1/files/{file.kind}/{file.id}"


def _canonical_type(content_type: str) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(ctype, ctype)


def _extension(kind: str, content_type: str) -> tuple[str, str]:
    """(canonical content type, extension); ValueError when ``kind`` may not hold it."""
    if kind not in BLOB_KINDS:
        raise ValueError(f"unknown blob kind {kind!r}")
    ctype = _canonical_type(content_type)
    ext = EXTENSIONS.get(ctype)
    if ext is None:
        raise ValueError(f"unsupported content type {content_type!r}")
    if kind in ("image", "video") and not ctype.startswith(kind + "/"):
        raise ValueError(f"{kind} blobs cannot be {ctype}")
    return ctype, ext


class BlobStore:
    """Media files under ``root``. ``limit_bytes``: the size above which cleanup runs (None:
    unlimited); ``auto_clean``: run it after puts (``clean()`` can always be called).
    Both are plain attributes, so a settings watcher may change them at runtime. ``clock``:
    monotonic seconds, for the rescan interval (tests may inject one)."""

    def __init__(
        self,
        root: Path,
        *,
        limit_bytes: int | None,
        auto_clean: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.root = Path(root)
        self.limit_bytes = limit_bytes
        self.auto_clean = auto_clean
        self._clock = clock
        self._approx_total: int | None = None  # this process's guess; None: scan first
        self._puts_since_scan = 0
        self._scanned_at = clock()
        self._cleaning = False
        self._cleaner: asyncio.Task[None] | None = None  # the cleanup a put started

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        """``DATA_DIR/media``, cleaned above ``cache.limit_mb`` when ``cache.enable_auto_clean``."""
        return cls(
            Path(settings.data_dir) / "media",
            limit_bytes=settings.cache.limit_mb * 1024 * 1024,
            auto_clean=settings.cache.enable_auto_clean,
        )

    # -- writing ----------------------------------------------------------------------------

    async def put(
        self,
        kind: BlobKind,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        width: int | None = None,
        height: int | None = None,
        max_bytes: int | None = None,
    ) -> MediaFile:
        """Store what ``chunks`` yields as a new file. ``ValueError`` for an unknown kind or
        content type (before reading anything); ``BlobTooLarge`` past ``max_bytes``. On any
        failure (or cancellation) the temporary file is removed and nothing is stored."""
        ctype, ext = _extension(kind, content_type)
        blob_id = f"{secrets.token_urlsafe(24)}.{ext}"
        final = self.root / kind / blob_id
        writer: TempWriter | None = None  # created at the first flush: small files need none
        size = 0
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                if not chunk:
                    continue
                if not isinstance(chunk, bytes):  # a buffer its producer may reuse
                    chunk = bytes(chunk)
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= _FLUSH_BYTES:
                    parts, pending, pending_size = pending, [], 0
                    writer = await asyncio.to_thread(TempWriter.write_to, writer, final, parts)
            # One hop (create, write, rename) for a file that never needed a flush.
            await asyncio.to_thread(TempWriter.commit_to, writer, final, pending)
        except BaseException:
            if writer is not None:  # runs to its end in its thread even if cancelled again
                await asyncio.to_thread(writer.discard)
            raise
        self._after_put(final, size)
        return MediaFile(
            kind=kind, id=blob_id, content_type=ctype, size=size, width=width, height=height
        )

    async def put_bytes(
        self,
        kind: BlobKind,
        data: bytes,
        *,
        content_type: str,
        width: int | None = None,
        height: int | None = None,
        max_bytes: int | None = None,
    ) -> MediaFile:
        """``put`` of one in-memory buffer."""
        return await self.put(
            kind, _once(data), content_type=content_type, width=width, height=height,
            max_bytes=max_bytes,
        )

    # -- reading ----------------------------------------------------------------------------

    def path_of(self, kind: str, blob_id: str) -> Path | None:
        """Where ``kind``/``blob_id`` lives, or None when either is not valid (checked before
        any filesystem access: the answer is always directly under ``root/<kind>/``)."""
        if kind not in BLOB_KINDS or not _ID.fullmatch(blob_id):
            return None
        return self.root / kind / blob_id

    async def open(self, kind: str, blob_id: str) -> StoredBlob | None:
        """The file ``kind``/``blob_id`` (its path and metadata), or None when the id is
        invalid or no such regular file exists. Symbolic links are never followed."""
        path = self.path_of(kind, blob_id)
        if path is None:
            return None
        try:
            st = await asyncio.to_thread(os.stat, path, follow_symlinks=False)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size == 0:  # empty: lost in a crash
            return None
        return StoredBlob(
            kind=kind, id=blob_id, path=path, size=st.st_size, mtime=st.st_mtime,
            content_type=CONTENT_TYPES[blob_id.rsplit(".", 1)[1]],
            etag=etag_for(blob_id, st.st_size),
        )

    async def read_bytes(self, file: MediaFile) -> bytes:
        """The whole content of ``file``; ``BlobNotFound`` if it is gone or invalid."""
        path = self.path_of(file.kind, file.id)
        if path is None:
            raise BlobNotFound(f"no {file.kind} file with that id")
        try:
            data = await asyncio.to_thread(_read_all, path)
        except OSError as exc:
            raise BlobNotFound(f"the {file.kind} file does not exist or expired") from exc
        if not data:  # lost in a crash (see the module docstring): never a stored file
            raise BlobNotFound(f"the {file.kind} file was lost")
        return data

    async def delete(self, kind: str, blob_id: str) -> bool:
        """Remove a file; False when the id is invalid or the file was not there."""
        path = self.path_of(kind, blob_id)
        if path is None:
            return False
        try:
            await asyncio.to_thread(os.unlink, path)
        except FileNotFoundError:
            return False
        return True

    # -- size ---------------------------------------------------------------------------

    async def usage(self) -> tuple[int, int]:
        """(bytes, files) of every stored file (temporary files not counted)."""
        entries, _ = await asyncio.to_thread(self._scan)
        return sum(size for _, size, _ in entries), len(entries)

    async def usage_by_kind(self) -> dict[str, tuple[int, int]]:
        """(bytes, files) of the stored files of each kind (every kind, zeros included)."""
        entries, _ = await asyncio.to_thread(self._scan)
        usage = dict.fromkeys(BLOB_KINDS, (0, 0))
        for _, size, path in entries:
            total, files = usage[path.parent.name]
            usage[path.parent.name] = (total + size, files + 1)
        return usage

    async def clear(self, kinds: Iterable[str] = BLOB_KINDS) -> tuple[int, int]:
        """Delete every stored file of ``kinds`` (temporary files of writes in progress are
        left alone); (bytes, files) removed. Readers with a file open keep reading it."""
        wanted = [kind for kind in kinds if kind in BLOB_KINDS]
        removed = await asyncio.to_thread(cleanup.remove_all, self.root, wanted, self._scan)
        self._approx_total = None
        return removed

    async def clean(self, *, keep: Path | None = None) -> Cleaned | None:
        """Delete the oldest files while the store is above ``limit_bytes``, down to
        ``LOW_WATER`` of it, and crashed writers' temporary files. Never deletes ``keep``
        nor the newest file. None when another process (or task) is cleaning right now."""
        if self._cleaning:
            return None
        self._cleaning = True
        try:
            cleaned = await asyncio.to_thread(
                cleanup.clean_locked, self.root, self.limit_bytes, keep, self._scan
            )
        finally:
            self._cleaning = False
        if cleaned is not None:
            self._approx_total = cleaned.total_bytes
            self._puts_since_scan = 0
            self._scanned_at = self._clock()
            if cleaned.removed_files or cleaned.removed_temps:
                log.info(
                    "media_cache_cleaned removed_files=%d removed_bytes=%d removed_temps=%d "
                    "total_bytes=%d files=%d limit_bytes=%s",
                    cleaned.removed_files, cleaned.removed_bytes, cleaned.removed_temps,
                    cleaned.total_bytes, cleaned.files, self.limit_bytes,
                )
        return cleaned

    def _scan(self, *, remove_stale: bool = False) -> tuple[list[cleanup.Entry], int]:
        return cleanup.scan(
            self.root, BLOB_KINDS, is_blob=is_valid_id, temp_prefix=TEMP_PREFIX,
            remove_stale=remove_stale,
        )  # fmt: skip

    async def settled(self) -> None:
        """Wait until the cleanup a put started (if any) has finished."""
        if self._cleaner is not None:
            await asyncio.shield(self._cleaner)

    def _after_put(self, path: Path, size: int) -> None:
        if not self.auto_clean or self.limit_bytes is None:
            return
        self._puts_since_scan += 1
        if self._approx_total is not None:
            self._approx_total += size
        rescan_due = (
            self._puts_since_scan >= RESCAN_EVERY
            and self._clock() - self._scanned_at >= RESCAN_SECONDS
        )
        due = self._approx_total is None or self._approx_total > self.limit_bytes or rescan_due
        if due and (self._cleaner is None or self._cleaner.done()):
            self._cleaner = asyncio.get_running_loop().create_task(
                self._clean_after_put(path), name="media-cache-clean"
            )

    async def _clean_after_put(self, path: Path) -> None:
        try:
            await self.clean(keep=path)
        except Exception:  # the put itself succeeded; the next one retries the cleanup
            log.warning("media_cache_clean_failed root=%s", self.root, exc_info=True)


def _read_all(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        return file.read()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
