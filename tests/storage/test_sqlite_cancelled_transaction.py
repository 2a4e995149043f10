"""A task cancelled inside a SQLite transaction leaves the write lock to the next writer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from grok2api_storage import StorageError, engine, urls
from sqlalchemy import text

# The writer is cancelled after 0, 1, 2, ... loop turns: across its await points, some
# land while a statement of its transaction is in flight.
CANCEL_AFTER_TURNS = range(150)


async def test_cancelled_writer_does_not_hold_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a short busy timeout: a lock left held shows as "database is locked", not a long wait
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 300)
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    location = urls.StoreLocation(storage_type="local", kind="sqlite", url=url)
    db = engine.Database(engine=engine.build_engine(location), location=location)
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE counter (value INTEGER)"))
        await session.execute(text("INSERT INTO counter VALUES (0)"))

    async def write_forever() -> None:
        while True:
            async with db.transaction() as session:
                await session.execute(text("UPDATE counter SET value = value + 1"))
                await session.execute(text("SELECT value FROM counter"))

    kept, locked = [], []
    try:
        for turns in CANCEL_AFTER_TURNS:
            task = asyncio.create_task(write_forever())
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            # kept, as a supervisor or a log handler may keep it: its traceback can hold
            # the cursor, and sqlite3 keeps a closed connection open behind a live cursor
            kept.append(task)
            try:
                async with db.transaction() as session:
                    await session.execute(text("UPDATE counter SET value = value - 1"))
            except StorageError as exc:
                locked.append((turns, str(exc)[-40:]))
        assert locked == []
    finally:
        await db.dispose()
