"""Migrating a SQL store in a child process, so that the caller never imports Alembic.

Alembic and what it loads (Mako, SQLAlchemy's DDL helpers) stay in a process's memory once
imported, about 11 MB, for a migration that runs once per schema version. A long-running
single-process server whose store is behind runs the migration here instead: a child
Python opens the same store, migrates it under the usual lock and exits. The location
goes to the child in its environment, never on its command line (a URL may hold a
password).

    await migrate_apart.migrate(store)      # the same result as ``await store.migrate()``
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

from . import crypto, errors, records, sql_store, urls

log = logging.getLogger(__name__)

_TYPE_ENV = "GROK2API_MIGRATE_STORAGE_TYPE"
_URL_ENV = "GROK2API_MIGRATE_STORAGE_URL"


async def migrate(store: sql_store.SqlStore) -> records.SchemaMigration:
    """Bring ``store`` to this code's schema in a child process; ``SchemaError`` with the
    child's one-line reason when it fails."""
    env = {**os.environ, _TYPE_ENV: store.location.storage_type, _URL_ENV: store.location.url}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await child.communicate()
    if child.returncode != 0:
        reason = err.decode(errors="replace").strip().splitlines()
        raise errors.SchemaError(
            f"migrating the store at {store.location.display} failed: "
            + (reason[-1] if reason else f"exit status {child.returncode}")
        )
    done = json.loads(out)
    migration = records.SchemaMigration(before=done["before"], after=done["after"])
    log.info("schema_migrated before=%s after=%s in_child=true", migration.before, migration.after)
    return migration


async def _migrate_here() -> records.SchemaMigration:
    location = urls.StoreLocation(
        storage_type=os.environ[_TYPE_ENV], kind="sql", url=os.environ[_URL_ENV]
    )
    async with sql_store.SqlStore(location=location, cipher=crypto.NoCipher()) as store:
        return await store.migrate()


def main() -> None:
    try:
        done = asyncio.run(_migrate_here())
    except errors.StorageError as exc:
        print(exc, file=sys.stderr)  # already free of passwords
        sys.exit(1)
    print(json.dumps({"before": done.before, "after": done.after}))


if __name__ == "__main__":
    main()
