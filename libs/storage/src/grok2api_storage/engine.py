"""Async engines for the SQL stores, and transactions that translate driver errors."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_, in_greenlet

from . import translate, urls

CONNECT_TIMEOUT_SECONDS = 10
SQLITE_BUSY_TIMEOUT_MS = 30_000


def build_engine(location: urls.StoreLocation) -> AsyncEngine:
    """An engine for ``location``; it connects lazily (``Database.ping`` checks)."""
    url = make_url(location.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _serialise_sqlite_writes(engine)
        return engine
    connect_args: dict[str, Any] = (
        {"timeout": CONNECT_TIMEOUT_SECONDS}
        if backend == "postgresql"
        else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    return create_async_engine(
        url, pool_pre_ping=True, pool_recycle=3600, connect_args=connect_args
    )


def _serialise_sqlite_writes(engine: AsyncEngine) -> None:
    """Make SQLite transactions real and writer-exclusive.

    pysqlite otherwise defers BEGIN until the first write, so a read-then-write
    transaction can fail with "database is locked" instead of waiting; BEGIN IMMEDIATE
    takes the write lock up front and waits up to the busy timeout. It also makes DDL
    transactional, which keeps concurrent migrations from interleaving.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "invalidate", _roll_back_discarded)


def _roll_back_discarded(_dbapi: Any, record: ConnectionPoolEntry, _exc: Any) -> None:
    """End the transaction of a connection the pool throws away (its task was cancelled
    mid-transaction, say) before the pool closes it.

    The pool closes such a connection without its usual rollback, and sqlite3 keeps a
    connection whose statement is still referenced (by the cancelled task's traceback)
    open behind the close, write lock and all, so every other writer would wait out the
    busy timeout. Shielded: a second cancel still leaves the rollback queued before the close.
    """
    driver = record.driver_connection
    if driver is None or not in_greenlet():
        return  # a connection never made, or one collected as garbage (no transaction left)
    with contextlib.suppress(Exception):  # a broken connection: the close that follows ends it
        await_(asyncio.shield(driver.rollback()))


def use_wal(cursor: Any) -> None:
    """Put the database in WAL mode, waiting for a rival connection converting it too.

    SQLite answers "database is locked" at once, without its busy handler, to one of two
    connections switching a new file to WAL together (both hold a shared lock and want the
    exclusive one: it refuses rather than deadlock). So processes started together on a new
    store retry here, up to the busy timeout; a file already in WAL mode takes one read.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if cursor.fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)  # blocking, but only while a new file is being converted


class Database:
    """An engine plus the location it serves (for error messages)."""

    def __init__(self, *, engine: AsyncEngine, location: urls.StoreLocation) -> None:
        self.engine = engine
        self.location = location
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with translate.driver_errors(self.location), self._sessions.begin() as session:
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection inside one transaction, committed on success, rolled back on
        error: no ORM session around it. For batch writes that need no ORM (the usage
        flush's insert and ``last_used_at`` update), whose session cost about as much as
        the statement."""
        async with translate.driver_errors(self.location), self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with (
            translate.driver_errors(self.location, connecting=True),
            self.engine.connect() as conn,
        ):
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
