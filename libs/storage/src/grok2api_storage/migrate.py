"""Schema migrations of the SQL stores, run programmatically at start.

Several replicas may start at once, so the upgrade runs under the database's own lock:
a transaction-scoped advisory lock on PostgreSQL, ``GET_LOCK`` on MySQL/MariaDB, and on
SQLite the write lock of ``BEGIN IMMEDIATE`` (SQLite DDL is transactional). The replica
that gets the lock second finds the schema current and does nothing.

Alembic is imported only when a migration has to run: a start on a store already at
``HEAD_REVISION`` reads the version table with one plain query, so a long-running process
does not hold Alembic's modules (about 13 MB) for nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import engine as engine_mod
from . import errors, records, translate

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

VERSION_TABLE = "grok2api_schema_version"
LOCK_NAME = "grok2api_schema_migration"
#: Any fixed 64-bit number works; this one is "grok2api" in ASCII.
PG_LOCK_KEY = 0x67726F6B32617069
MYSQL_LOCK_TIMEOUT_SECONDS = 300
_SCRIPT_LOCATION = Path(__file__).with_name("migrations")
HEAD_REVISION = "0006"
"""The newest revision in ``migrations/versions`` (a test keeps the two the same)."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    return config


def head_revision() -> str:
    """The newest schema revision this code knows, as Alembic reads the migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


async def current_revision(db: engine_mod.Database) -> str | None:
    async with translate.driver_errors(db.location), db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(db: engine_mod.Database, *, revision: str = "head") -> records.SchemaMigration:
    """Upgrade to ``revision`` under the migration lock; a no-op when already there."""
    if revision in ("head", HEAD_REVISION):
        stored = await _stored_revision(db)
        if stored == HEAD_REVISION:
            return records.SchemaMigration(before=stored, after=stored)
    from alembic.util import CommandError

    async with translate.driver_errors(db.location), _migration_lock(db.engine) as conn:
        before = await conn.run_sync(_current)
        _refuse_unknown(before)
        try:
            await conn.run_sync(_upgrade, revision)
        except CommandError as exc:
            raise errors.SchemaError(f"migrating the store failed: {exc}") from exc
        after = await conn.run_sync(_current)
        await conn.commit()
    assert after is not None
    if before != after:
        log.info("schema_migrated before=%s after=%s", before, after)
    return records.SchemaMigration(before=before, after=after)


async def is_current(db: engine_mod.Database) -> bool:
    """Whether the schema is this code's (one plain query, no Alembic)."""
    return await _stored_revision(db) == HEAD_REVISION


async def _stored_revision(db: engine_mod.Database) -> str | None:
    """The revision in the version table read with plain SQL (no Alembic, no lock); None
    when there is no table yet or not exactly one row (the locked path then decides). An
    unreachable database fails here as it would there."""
    async with translate.driver_errors(db.location), db.engine.connect() as conn:
        try:
            result = await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        except DBAPIError:
            return None
        rows = result.all()
    return str(rows[0][0]) if len(rows) == 1 else None


@asynccontextmanager
async def _migration_lock(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            yield conn
        elif dialect == "mysql":
            got = await conn.scalar(
                text("SELECT GET_LOCK(:name, :timeout)"),
                {"name": LOCK_NAME, "timeout": MYSQL_LOCK_TIMEOUT_SECONDS},
            )
            if got != 1:
                raise errors.SchemaError(
                    f"another replica held the migration lock for over "
                    f"{MYSQL_LOCK_TIMEOUT_SECONDS}s"
                )
            try:
                yield conn
            finally:
                await conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
                await conn.commit()
        else:
            # The engine's BEGIN IMMEDIATE (see engine.py) is the lock on SQLite.
            yield conn


def _current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _upgrade(conn: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def _refuse_unknown(revision: str | None) -> None:
    if revision is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise errors.SchemaError(
            f"the store's schema is at revision {revision!r}, newer than this version of "
            f"grok2api knows (head {head_revision()!r}); upgrade grok2api instead"
        )
