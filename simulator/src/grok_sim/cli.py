"""The simulator's command line (`grok2api sim`, or `python -m grok_sim`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from . import server
from .accountsfile import load_accounts
from .errors import ConfigError
from .options import SimOptions
from .state import SeedAccount

app = typer.Typer(help="Offline Grok upstream simulator.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Offline Grok upstream simulator (grok.com, accounts.x.ai and assets on one port)."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = 9100,
    accounts: Annotated[
        Path | None, typer.Option(help="Accounts file: JSON or one '<credential> [tier]' a line.")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="Extra account as CREDENTIAL[:TIER]; repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic answers.")] = 0,
    time_scale: Annotated[
        float, typer.Option(help="Simulated seconds per real second (quota windows).")
    ] = 1.0,
    token_delay_ms: Annotated[
        float, typer.Option(help="Delay between streamed frames; 0 = zero-latency mode.")
    ] = 0.0,
    tokens_per_reply: Annotated[int, typer.Option(help="Words in a default reply.")] = 12,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the simulator until interrupted."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    try:
        seeds = load_accounts(accounts) if accounts else []
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="--accounts") from error
    for item in account or []:
        credential, _, tier = item.partition(":")
        seeds.append(SeedAccount(credential=credential, tier=tier or "basic"))
    options = SimOptions(seed=seed, time_scale=time_scale, token_delay_ms=token_delay_ms,
                         tokens_per_reply=tokens_per_reply)
    config = server.uvicorn_config(host=host, port=port, options=options, seed_accounts=seeds,
                                   log_level=log_level)
    typer.echo(f"grok-sim listening on http://{host}:{port} accounts={len(seeds)}")
    uvicorn.Server(config).run()
