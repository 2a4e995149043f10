"""What an idle `grok2api run` holds: not the modules only some requests or starts need.

The process is `grok2api run` itself (the console script's app, same arguments); a thread in
it waits for ``/readyz`` and writes ``sys.modules`` to a file, then stops it. Those modules
are memory held for the process's life (issue #21, idle RSS): the tokenizer is built by the
first request that counts tokens, Alembic runs only when the schema is behind, and the rest
load at their first use (see NEVER_IDLE); a store that is behind is migrated by a child process.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from grok2api_storage.migrate import HEAD_REVISION, VERSION_TABLE
from grok2api_storage.urls import SQLITE_FILE_NAME

from .conftest import ROOT, free_port

pytestmark = pytest.mark.e2e

# Runs `grok2api run` in this interpreter; once ready, writes the loaded modules to argv[1]
# and sends itself SIGTERM (the clean stop a user's Ctrl-C gives).
_RUN_AND_LIST_MODULES = """
import json, os, signal, sys, threading, time, urllib.request

out, port = sys.argv[1], os.environ["SERVER_PORT"]

def list_when_ready():
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    with open(out, "w") as f:
        json.dump(sorted(sys.modules), f)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=list_when_ready, daemon=True).start()
from grok2api_cli.main import app
app(["run"], prog_name="grok2api")
"""

# Loaded only by what an idle single-process server with no account never does: count
# tokens, handle a credential, render a panel page, read a declared egress file, print a
# table, simulate Grok, trace (off by default), talk to Redis (split services only).
NEVER_IDLE = (
    "tiktoken", "tiktoken_ext", "cryptography.fernet", "cryptography.hazmat", "jinja2",
    "yaml", "rich", "grok_sim", "aiohttp", "opentelemetry.sdk.trace", "redis",
)  # fmt: skip
# Alembic, and the PostgreSQL dialect its DDL helpers import, on a SQLite store.
ONLY_TO_MIGRATE = ("alembic", "mako", "sqlalchemy.dialects.postgresql")


def idle_modules(env: dict[str, str], tmp_path: Path) -> set[str]:
    listing = tmp_path / f"modules-{free_port()}.json"
    env = {**env, "SERVER_HOST": "127.0.0.1", "SERVER_PORT": str(free_port()),
           "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _RUN_AND_LIST_MODULES, str(listing)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(listing.read_text()))


def _stored_revision(data_dir: Path) -> str:
    with contextlib.closing(sqlite3.connect(data_dir / SQLITE_FILE_NAME)) as db:
        return str(db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()[0])


def loaded(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    """The modules that are one of ``packages`` or inside one."""
    return {name for name in modules if any(
        name == package or name.startswith(package + ".") for package in packages)}  # fmt: skip


def test_an_idle_server_has_not_built_the_tokenizer_nor_kept_alembic(
    env: dict[str, str], tmp_path: Path
) -> None:
    first = idle_modules(env, tmp_path)  # a new DATA_DIR: a child process creates the schema
    assert not loaded(first, NEVER_IDLE + ONLY_TO_MIGRATE)
    assert "grok2api_storage.migrate_apart" in first
    assert _stored_revision(Path(env["DATA_DIR"])) == HEAD_REVISION
    again = idle_modules(env, tmp_path)  # the same DATA_DIR: nothing to migrate
    assert not loaded(again, NEVER_IDLE + ONLY_TO_MIGRATE)
    assert "grok2api_storage.migrate" in again  # the schema was checked, without Alembic
