"""A file written under a temporary name next to its final place, then moved there.

The name starts with ``TEMP_PREFIX`` (a leading dot: never a valid blob id), so no reader
takes a file being written for a stored one, and cleanup can tell a crashed writer's
leftovers. Every method blocks: the blob store calls them in worker threads.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Final

TEMP_PREFIX: Final = ".tmp-"


class TempWriter:
    """A temporary file in the target directory; every method runs in a worker thread."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self.file = os.fdopen(fd, "wb")
        self.done = False

    @classmethod
    def create(cls, directory: Path) -> TempWriter:
        try:
            return cls._create(directory)
        except FileNotFoundError:  # the kind's first file (or someone removed the directory)
            directory.mkdir(parents=True, exist_ok=True)
            return cls._create(directory)

    @classmethod
    def _create(cls, directory: Path) -> TempWriter:
        path = directory / f"{TEMP_PREFIX}{secrets.token_hex(12)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        return cls(path, os.open(path, flags, 0o644))

    @classmethod
    def write_to(cls, writer: TempWriter | None, final: Path, parts: list[bytes]) -> TempWriter:
        """``parts`` appended to ``writer``, created next to ``final`` when None."""
        writer = writer or cls.create(final.parent)
        writer.file.writelines(parts)
        return writer

    @classmethod
    def commit_to(cls, writer: TempWriter | None, final: Path, parts: list[bytes]) -> None:
        """The last ``parts`` written and the file moved to ``final``; a file that never
        needed a flush is created, written and moved here, in one go."""
        writer = writer or cls.create(final.parent)
        try:
            writer.file.writelines(parts)
            writer.file.close()
            os.replace(writer.path, final)
            writer.done = True
        finally:
            if not writer.done:
                writer.discard()

    def discard(self) -> None:
        # A buffered file serialises close() with a write still running in another thread.
        with contextlib.suppress(OSError):
            self.file.close()
        if not self.done:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
