import contextlib
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from grok2api_cluster.cluster import free_port as free_port  # the one picker: no port twice
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.pop("REDIS_URL", None)
    env.update(DATA_DIR=str(tmp_path / "data"), LOG_FILE_ENABLED="false", **extra)
    return env


def grok2api(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grok2api_cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def grok2api_in_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``grok2api`` run in this process (typer's CliRunner on the same app), for a command
    whose outcome does not need a process of its own: a settings or connection error that
    ends it before it serves anything. Run as ``grok2api`` runs: exactly ``env`` as its
    environment, in ``ROOT``, logging and warnings as a fresh interpreter has them (a record
    or warning nobody handles goes to stderr); answers as ``grok2api`` does (exit status,
    stdout, stderr, an exception escaping the app printed to stderr as the interpreter
    would), and leaves this process as it found it."""
    from grok2api_cli import bootstrap, main

    environment: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    environment.update(env)
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        with _as_a_fresh_interpreter() as caught:
            result = CliRunner().invoke(main.app, list(args), env=environment)
    finally:
        os.chdir(cwd)
        bootstrap.set_debug(False)  # process-wide; --debug must not outlive its command
    stderr = result.stderr + "".join(
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
        for w in caught
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["grok2api", *args], result.exit_code, result.stdout,
                                       stderr)  # fmt: skip


_CHATTY_LOGGERS = ("uvicorn.access", "alembic")  # grok2api_telemetry.logs sets their levels


@contextlib.contextmanager
def _as_a_fresh_interpreter() -> Iterator[list[warnings.WarningMessage]]:
    """The root logger without handlers (unhandled records go to stderr, via
    ``logging.lastResort``) and the interpreter's default warning filters, recording the
    warnings shown; whatever the command configures (``logs.configure`` in ``run``) is
    undone afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in _CHATTY_LOGGERS}
    flags = (logging._srcfile, logging.logThreads, logging.logProcesses,  # type: ignore[attr-defined]
             logging.logMultiprocessing)  # fmt: skip
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.resetwarnings()
            for ignored in (DeprecationWarning, PendingDeprecationWarning, ImportWarning,
                            ResourceWarning):  # fmt: skip
                warnings.simplefilter("ignore", ignored)
            yield caught
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, logger_level in levels.items():
            logging.getLogger(name).setLevel(logger_level)
        (logging._srcfile, logging.logThreads, logging.logProcesses,  # type: ignore[attr-defined]
         logging.logMultiprocessing) = flags  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield cli_env(tmp_path)
