"""``grok2api``: run the services, inspect settings, manage tokens, run the simulator."""

from __future__ import annotations

from pathlib import Path

import typer
from grok2api_telemetry import tracing
from grok_sim import cli as sim_cli

from . import bootstrap, config_cmd, egress, keys, tokens, version

app = typer.Typer(
    help="OpenAI- and Anthropic-compatible API in front of a pool of Grok web accounts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(tokens.app, name="tokens")
app.add_typer(keys.app, name="keys")
app.add_typer(egress.app, name="egress")
app.add_typer(sim_cli.app, name="sim", help="Run the offline Grok upstream simulator.")

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
