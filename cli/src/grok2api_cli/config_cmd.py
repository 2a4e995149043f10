"""``grok2api config``: show, validate and print settings."""

from __future__ import annotations

from pathlib import Path

import typer
from grok2api_settings import loading, rendering
from grok2api_settings.errors import SettingsError
from rich.console import Console
from rich.table import Table

from . import bootstrap

app = typer.Typer(help="Inspect and check settings.", no_args_is_help=True)

ConfigOption = typer.Option(
    None, "--config", "-c", help="Config file (default DATA_DIR/config.toml)."
)


@app.command()
def show(config: Path | None = ConfigOption) -> None:
    """Print the effective settings and where each value came from (secrets masked)."""
    loaded = bootstrap.load_settings(config)
    table = Table(title=f"grok2api settings ({loaded.config_file})")
    for column in ("key", "value", "source"):
        table.add_column(column)
    for key, value, source in rendering.effective(loaded):
        table.add_row(key, value, source)
    Console(width=200).print(table)


@app.command()
def validate(path: Path = typer.Argument(..., help="Config file to check.")) -> None:
    """Check a config file: exit 0 when valid, else print the bad key and exit 2."""
    if not path.exists():
        bootstrap.fail(f"{path}: no such file")
    try:
        loaded = loading.load(config_file=path, environ={})
    except SettingsError as exc:
        bootstrap.fail(str(exc))
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{path}: valid")


@app.command()
def defaults() -> None:
    """Print a config file holding every default, each key documented."""
    typer.echo(rendering.defaults_file())
