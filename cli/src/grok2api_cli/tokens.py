"""``grok2api tokens``: add, import, list, remove, refresh and export Grok accounts.

Commands reach the running token pool over gRPC, or the store directly with an in-process
pool (``pool_access``: how, and how errors become one line). Credentials are masked in
every listing; ``export`` prints them in full.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from grok2api_poolclient import declared, errors
from grok2api_poolclient.accounts import MANAGED_TAG_PREFIX, Account, AccountStatus
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.leases import Tier
from rich.console import Console
from rich.table import Table

from . import bootstrap, pool_access

app = typer.Typer(help="Manage the Grok accounts of the token pool.", no_args_is_help=True)


def _tier(value: str | None) -> Tier | None:
    try:
        return Tier(value) if value else None
    except ValueError:
        bootstrap.fail(f"unknown tier {value!r}; choose basic, super or heavy")


def _refuse_reserved_tags(tags: list[str]) -> None:
    reserved = declared.reserved_tags(tags)
    if reserved:
        bootstrap.fail(
            f"tags starting with {MANAGED_TAG_PREFIX!r} are reserved for accounts a GrokToken "
            f"object declares: {', '.join(reserved)}"
        )


def _refuse_declared(account: Account) -> None:
    reason = declared.refusal(account)
    if reason is not None:
        bootstrap.fail(reason)


@app.command()
def add(
    credential: str = typer.Argument(..., help="The sso cookie value (a leading sso= is fine)."),
    tier: str | None = typer.Option(None, help="basic, super or heavy (inferred if omitted)."),
    tag: list[str] = typer.Option([], "--tag", help="Tag (repeatable)."),
    note: str | None = typer.Option(None, help="Free text shown in listings."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Add one account (or update the one holding this credential)."""
    _refuse_reserved_tags(tag)

    async def job(pool: PoolClient) -> Account:
        existing = await declared.holder(pool, credential)
        if existing is not None:
            _refuse_declared(existing)
        return await pool.upsert_account(
            credential=credential, tier=_tier(tier), tags=tag or None, note=note
        )

    account = pool_access.run(config, addr, local, job)
    typer.echo(f"{account.account_id} {account.credential_masked} {account.tier}")


@app.command(name="import")
def import_(
    file: Path = typer.Argument(..., help="Credential lines or a token.json pool file; - = stdin."),
    tier: str | None = typer.Option(None, help="Tier for entries that carry none."),
    tag: list[str] = typer.Option([], "--tag", help="Tag added to every entry (repeatable)."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Import many accounts, with a progress bar."""
    from grok2api_poolclient import formats

    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except OSError as exc:
        bootstrap.fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        bootstrap.fail(f"{file} is not UTF-8 text: give credential lines or a token.json file")
    try:
        entries = formats.parse(text)
    except formats.FormatError as exc:
        bootstrap.fail(f"{file}: {exc}")
    default_tier = _tier(tier)
    _refuse_reserved_tags(tag)

    async def job(pool: PoolClient) -> int:
        failed = 0
        with pool_access.progress() as progress:
            task = progress.add_task("importing", total=len(entries))
            for entry in entries:
                existing = await declared.holder(pool, entry.credential)
                reason = declared.refusal(existing) if existing is not None else None
                if reason is not None:
                    progress.console.print(f"skipped: {reason}", soft_wrap=True, markup=False)
                    failed += 1
                    progress.advance(task)
                    continue
                # a file's entries cannot claim a GrokToken's mark either
                merged = tuple(entry.tags or ()) + tuple(tag)
                plain = [t for t in merged if t not in declared.reserved_tags(merged)]
                tags = tuple(plain) if entry.tags or tag else None
                try:
                    await pool.upsert_account(
                        credential=entry.credential, tier=entry.tier or default_tier,
                        enabled=entry.enabled, tags=tags, note=entry.note,
                    )  # fmt: skip
                except errors.InvalidRequest:
                    failed += 1
                progress.advance(task)
        return failed

    failed = pool_access.run(config, addr, local, job)
    typer.echo(f"imported {len(entries) - failed} of {len(entries)} accounts")
    if failed:
        raise typer.Exit(1)


@app.command(name="list")
def list_(
    tier: str | None = typer.Option(None, help="Only this tier."),
    status: str | None = typer.Option(None, help="active, cooling, invalid or disabled."),
    tag: str | None = typer.Option(None, help="Only accounts with this tag."),
    search: str | None = typer.Option(None, help="Substring of the id or note."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """List accounts (credentials masked)."""
    try:
        wanted = AccountStatus(status) if status else None
    except ValueError:
        bootstrap.fail(f"unknown status {status!r}")

    async def job(pool: PoolClient) -> list[Account]:
        found: list[Account] = []
        token = ""
        while True:
            page = await pool.list_accounts(
                tier=_tier(tier), status=wanted, tag=tag, search=search, page_token=token
            )
            found += page.accounts
            token = page.next_page_token
            if not token:
                return found

    accounts = pool_access.run(config, addr, local, job)
    if as_json:
        for a in accounts:
            typer.echo(json.dumps(_row(a)))
        return
    table = Table(title=f"{len(accounts)} accounts")
    for column in ("id", "credential", "tier", "status", "quota", "in flight", "tags", "note"):
        table.add_column(column)
    for a in accounts:
        quota = " ".join(f"{w.mode}:{w.remaining}/{w.total}" for w in a.quota)
        status = str(a.status)
        if a.refused_products:  # products the upstream refused it, until its next refresh
            status += f" (refused: {', '.join(a.refused_products)})"
        table.add_row(a.account_id, a.credential_masked, a.tier, status, quota,
                      str(a.inflight), ",".join(a.tags), a.note)  # fmt: skip
    Console(width=200).print(table)


def _row(a: Account) -> dict[str, Any]:
    return {
        "id": a.account_id, "credential": a.credential_masked, "tier": a.tier.value,
        "status": a.status.value, "enabled": a.enabled, "tags": list(a.tags), "note": a.note,
        "inflight": a.inflight, "fail_count": a.fail_count,
        "refused_products": list(a.refused_products),
        "quota": {w.mode: {"remaining": w.remaining, "total": w.total, "source": w.source.value}
                  for w in a.quota},
    }  # fmt: skip


@app.command()
def remove(
    account_ids: list[str] = typer.Argument(..., help="Account ids (see `tokens list`)."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Remove accounts."""

    async def job(pool: PoolClient) -> None:
        # every id checked before any is removed, so a refusal leaves nothing half done
        for account_id in account_ids:
            _refuse_declared(await pool.get_account(account_id))
        for account_id in account_ids:
            await pool.remove_account(account_id)
            typer.echo(f"removed {account_id}")

    pool_access.run(config, addr, local, job)


@app.command()
def refresh(
    account_ids: list[str] = typer.Argument(None, help="Account ids; none with --all."),
    all_accounts: bool = typer.Option(False, "--all", help="Refresh every account."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Re-read usage from the upstream, with a progress bar."""
    if not account_ids and not all_accounts:
        bootstrap.fail("give account ids or --all")

    async def job(pool: PoolClient) -> tuple[int, int]:
        failed = done = 0
        with pool_access.progress() as progress:
            task = progress.add_task("refreshing", total=None)
            async for event in pool.refresh_usage(account_ids or (), all_accounts=all_accounts):
                if event.finished:
                    break
                done += 1
                failed += 0 if event.ok or event.skipped else 1
                progress.update(task, total=event.total, completed=event.done)
                if not event.ok and not event.skipped:
                    progress.console.print(f"{event.account_id}: {event.error}")
        return done, failed

    done, failed = pool_access.run(config, addr, local, job)
    typer.echo(f"refreshed {done - failed} of {done} accounts")
    if failed:
        raise typer.Exit(1)


@app.command()
def export(
    fmt: str = typer.Option("json", "--format", help="json (token.json pool file) or lines."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default stdout)."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Export every account WITH its full credential: treat the output as a secret."""
    from grok2api_poolclient import formats

    if fmt not in ("json", "lines"):
        bootstrap.fail("--format must be json or lines")

    async def job(pool: PoolClient) -> list[Any]:
        return [item async for item in pool.export_accounts()]

    items = pool_access.run(config, addr, local, job)
    if fmt == "lines":
        text = formats.to_lines(items)
    else:
        text = json.dumps(formats.to_pool_file(items), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        output.chmod(0o600)
        typer.echo(f"exported {len(items)} accounts to {output}", err=True)
