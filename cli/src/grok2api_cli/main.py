"""``grok2api``: run the services, inspect settings, manage tokens, run the simulator."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import typer
import typer.core
from grok2api_telemetry import tracing

from . import bootstrap, version

GROUPS: dict[str, tuple[str, str | None]] = {
    "config": ("grok2api_cli.config_cmd", None),
    "tokens": ("grok2api_cli.tokens", None),
    "keys": ("grok2api_cli.keys", None),
    "egress": ("grok2api_cli.egress", None),
    "sim": ("grok_sim.cli", "Run the offline Grok upstream simulator."),
}
"""The command groups: name -> (module whose ``app`` it is, help replacing the app's own)."""


class _RootCommand(typer.core.TyperGroup):
    """The ``grok2api`` command, whose groups (``GROUPS``) are imported when named, or all
    of them when the commands are listed: ``grok2api run`` never loads them (their rich
    tables and progress bars are about 3.5 MB of a server's memory)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*(name for name in super().list_commands(ctx) if name not in GROUPS), *GROUPS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in GROUPS:
            self._load(cmd_name)
        elif cmd_name not in self.commands:
            for name in GROUPS:  # an unknown name: its "did you mean" compares every name
                self._load(name)
        return super().get_command(ctx, cmd_name)

    def _load(self, name: str) -> None:
        if name in self.commands:
            return
        module, help_text = GROUPS[name]
        group = typer.main.get_command(importlib.import_module(module).app)
        group.name = name
        if help_text is not None:
            group.help = help_text
        self.add_command(group, name)


app = typer.Typer(
    cls=_RootCommand,
    help="OpenAI- and Anthropic-compatible API in front of a pool of Grok web accounts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

TARGETS = ("all", "gateway", "token-pool", "media-worker", "admin", "operator")


@app.callback()
def root(
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback behind a configuration or connection error."
    ),
) -> None:
    """OpenAI- and Anthropic-compatible API in front of a pool of Grok web accounts."""
    bootstrap.set_debug(debug)


@app.command()
def run(
    target: str = typer.Option(
        "all",
        "--target",
        "-t",
        help="all = every service in one process; or one service, as its Kubernetes Deployment "
        "runs it: gateway, token-pool, media-worker, admin, operator.",
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Config file (default DATA_DIR/config.toml)."
    ),
) -> None:
    """Start grok2api (all services in one process by default) until Ctrl-C or SIGTERM."""
    if target not in TARGETS:
        bootstrap.fail(f"unknown target {target!r}; choose one of: {', '.join(TARGETS)}")
    loaded = bootstrap.start(config, create_data_dir=target == "all")
    bootstrap.start_tracing(loaded, target=target)
    from . import targets  # imports the services: only once the settings are known good

    try:
        targets.run(target, loaded.settings)
    except bootstrap.StartupError as exc:
        bootstrap.fail(str(exc), code=3)
    finally:
        tracing.shutdown()  # exports the spans still buffered


@app.command(name="version")
def show_version() -> None:
    """Print the grok2api version."""
    typer.echo(version())


if __name__ == "__main__":
    app()
