"""Handing the memory freed during start-up back to the system.

Importing and wiring the services allocates and frees many small objects; glibc keeps the
freed pages in its heaps (the main arena is trimmed only from its top), so the process would
go on holding them. ``malloc_trim(0)`` releases every whole free page of every arena once,
when the server has started; the process allocates them again only if it needs them.
"""

from __future__ import annotations

import ctypes


def trim() -> bool:
    """Return free heap pages to the system; False where the C library has no
    ``malloc_trim`` (musl, macOS), which then simply keeps them."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    malloc_trim(0)
    return True
