"""A separate process writing into (and cleaning) a shared blob store, as a worker pod does.

``python blob_writer.py ROOT LIMIT COUNT SEED START_AT``: waits until ``START_AT`` (a
``time.time()``) so every writer starts together, then puts ``COUNT`` files of one repeated
byte each (so a file is checkably whole), calling ``clean()`` now and then too, and prints
one JSON line per file: ``{"id", "size", "byte"}``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

from grok2api_media.blobs import BlobStore


async def main(root: Path, limit: int, count: int, seed: int, start_at: float) -> None:
    store = BlobStore(root, limit_bytes=limit, auto_clean=True)
    rng = random.Random(seed)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    for n in range(count):
        fill = rng.randrange(256)
        size = rng.randrange(500, 3000)
        file = await store.put_bytes("image", bytes([fill]) * size, content_type="image/png")
        print(json.dumps({"id": file.id, "size": size, "byte": fill}), flush=True)
        if n % 5 == 0:
            await store.clean()


if __name__ == "__main__":
    root, limit, count, seed, start_at = sys.argv[1:6]
    asyncio.run(main(Path(root), int(limit), int(count), int(seed), float(start_at)))
