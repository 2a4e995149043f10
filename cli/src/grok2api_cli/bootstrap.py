"""What every command does first: load settings and set up logging, failing in one line.

A configuration or connection error ends a command with one line on stderr that names the
setting to fix (``fail``); ``grok2api --debug`` puts the traceback behind it first.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

import typer
from grok2api_settings import data_dir, loading
from grok2api_settings.errors import SettingsError
from grok2api_telemetry import logs, tracing

# Process-wide, like a log level: set by the root command's --debug before any command runs.
_debug = False


class StartupError(Exception):
    """A command cannot start its work; the message names the setting to fix."""


def set_debug(enabled: bool) -> None:
    global _debug
    _debug = enabled


def fail(message: str, *, code: int = 2) -> NoReturn:
    """Stop with ``message`` as one line on stderr and exit status ``code``; under
    ``--debug``, the traceback of the error being handled (if any) is printed first."""
    if _debug and sys.exc_info()[1] is not None:
        traceback.print_exc()
    typer.echo(f"grok2api: {message}", err=True)
    raise typer.Exit(code)


def load_settings(config_file: Path | None = None) -> loading.Loaded:
    try:
        return loading.load(config_file=config_file)
    except SettingsError as exc:
        fail(str(exc))


def start(config_file: Path | None, *, create_data_dir: bool) -> loading.Loaded:
    """Load settings, create the data dir if asked, and install logging."""
    loaded = load_settings(config_file)
    settings = loaded.settings
    if create_data_dir:
        try:
            data_dir.prepare(settings.data_dir, config_file=config_file)
        except OSError as exc:
            fail(f"cannot create DATA_DIR {settings.data_dir}: {exc.strerror}")
        loaded = load_settings(config_file)
        settings = loaded.settings
    logs.configure(
        level=settings.log.level,
        fmt=settings.log.format,
        file_dir=settings.data_dir / "logs" if settings.log.file_enabled else None,
    )
    for warning in loaded.warnings:
        print(f"grok2api: warning: {warning}", file=sys.stderr)
    return loaded


def start_tracing(loaded: loading.Loaded, *, target: str) -> None:
    """Install tracing when the ``OTEL_*`` variables (or ``telemetry.otlp_endpoint``) ask
    for it; off, nothing is installed. A split target names its service
    ``grok2api-<target>`` unless ``OTEL_SERVICE_NAME`` / ``telemetry.service_name`` is set."""
    telemetry = loaded.settings.telemetry
    name = telemetry.service_name
    if target != "all" and loaded.origin("telemetry.service_name") == "default":
        name = f"{name}-{target}"
    try:
        tracing.configure(
            environ=os.environ, service_name=name, otlp_endpoint=telemetry.otlp_endpoint
        )
    except tracing.TracingConfigError as exc:
        fail(str(exc))
