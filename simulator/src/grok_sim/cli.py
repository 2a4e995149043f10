"""The simulator's command line (`grok2api sim`, or `python -m grok_sim`).

`grok2api sim [OPTIONS]` and `grok2api sim serve [OPTIONS]` both serve the simulator.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

app = typer.Typer(help="Offline Grok upstream simulator.")

Host = Annotated[str, typer.Option(help="Interface to bind.")]
Port = Annotated[int, typer.Option(help="TCP port (0 picks a free one).")]
AccountsFile = Annotated[
    Path | None,
    typer.Option("--accounts", help="Accounts file: JSON, or '<credential> <tier>' lines."),
]
ExtraAccounts = Annotated[
    list[str] | None,
    typer.Option("--account", help="Extra account CREDENTIAL[:TIER]; repeatable."),
]
Seed = Annotated[int, typer.Option(help="Seed of the deterministic answers.")]
TimeScale = Annotated[float, typer.Option(help="Simulated seconds per real second (quotas).")]
TokenDelay = Annotated[float, typer.Option(help="Delay between frames; 0 = zero-latency mode.")]
TokensPerReply = Annotated[int, typer.Option(help="Words in a default reply.")]
LogLevel = Annotated[str, typer.Option(help="Log level (uvicorn and the simulator).")]


@app.callback(invoke_without_command=True)
def main(
    context: typer.Context,
    host: Host = "127.0.0.1",
    port: Port = 9100,
    accounts: AccountsFile = None,
    account: ExtraAccounts = None,
    seed: Seed = 0,
    time_scale: TimeScale = 1.0,
    token_delay_ms: TokenDelay = 0.0,
    tokens_per_reply: TokensPerReply = 12,
    log_level: LogLevel = "warning",
) -> None:
    """Serve the simulator (grok.com, accounts.x.ai and assets on one port)."""
    if context.invoked_subcommand is None:
        run(host=host, port=port, accounts=accounts, account=account, seed=seed,
            time_scale=time_scale, token_delay_ms=token_delay_ms,
            tokens_per_reply=tokens_per_reply, log_level=log_level)


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 9100,
    accounts: AccountsFile = None,
    account: ExtraAccounts = None,
    seed: Seed = 0,
    time_scale: TimeScale = 1.0,
    token_delay_ms: TokenDelay = 0.0,
    tokens_per_reply: TokensPerReply = 12,
    log_level: LogLevel = "warning",
) -> None:
    """Serve the simulator until interrupted."""
    run(host=host, port=port, accounts=accounts, account=account, seed=seed,
        time_scale=time_scale, token_delay_ms=token_delay_ms,
        tokens_per_reply=tokens_per_reply, log_level=log_level)


@app.command()
def solver(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (FlareSolverr's own is 8191).")] = 8191,
    log_level: LogLevel = "warning",
) -> None:
    """Serve the FlareSolverr-compatible solver (POST /v1) until interrupted."""
    from . import server

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    typer.echo(f"grok-sim solver listening on http://{host}:{port}/v1")
    uvicorn.Server(server.solver_config(host=host, port=port, log_level=log_level)).run()


def run(
    *, host: str, port: int, accounts: Path | None, account: list[str] | None, seed: int,
    time_scale: float, token_delay_ms: float, tokens_per_reply: int, log_level: str,
) -> None:
    """Build the options and seed accounts, then run uvicorn in the foreground."""
    # Imported here, not at the top: `grok2api` registers these commands in every service
    # process, which should not carry the simulator's app (see grok_sim/__init__.py).
    from . import server
    from .accountsfile import load_accounts
    from .errors import ConfigError
    from .options import SimOptions
    from .state import SeedAccount

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
