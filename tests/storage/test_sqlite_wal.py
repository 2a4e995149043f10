"""Processes opening one new SQLite file together all get a WAL-mode connection."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from grok2api_storage.engine import use_wal

OPENERS = 6
ROUNDS = 20


def _open_and_write(path: str, barrier: object) -> str | None:
    connection = sqlite3.connect(path, timeout=5, isolation_level=None)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        use_wal(connection.cursor())
        connection.execute("CREATE TABLE IF NOT EXISTS seen (pid INTEGER)")
        connection.execute("INSERT INTO seen VALUES (1)")
        return None
    except sqlite3.Error as exc:
        return repr(exc)
    finally:
        connection.close()


def test_new_file_opened_by_several_processes_at_once(tmp_path: Path) -> None:
    # Without the retry, one opener in a few rounds fails with "database is locked".
    context = multiprocessing.get_context("fork")
    with context.Manager() as manager, context.Pool(OPENERS) as pool:
        for round_ in range(ROUNDS):
            path = str(tmp_path / f"store-{round_}.db")
            barrier = manager.Barrier(OPENERS)
            failures = [f for f in pool.starmap(_open_and_write, [(path, barrier)] * OPENERS) if f]
            assert failures == [], f"round {round_}: {failures}"
            with sqlite3.connect(path) as check:
                assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                assert check.execute("SELECT count(*) FROM seen").fetchone()[0] == OPENERS
