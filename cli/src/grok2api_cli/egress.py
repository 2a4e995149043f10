"""``grok2api egress``: add, import, list, show, update, test, refresh and remove egresses.

An egress is one way out to grok.com (direct, or an HTTP or SOCKS proxy) with its own
Cloudflare clearance. Commands reach the running token pool over gRPC, or the store
directly with an in-process pool (``pool_access``); configuration errors end them with one
line and exit status 2. Listings show proxies as ``scheme://host:port`` and clearances by
source and expiry: never a proxy credential, never a cookie.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import typer
from grok2api_poolclient import errors
from grok2api_poolclient.client import PoolClient
from grok2api_poolclient.egresses import ClearanceRefresh, Egress, EgressTest, RefreshResult
from rich.console import Console
from token_pool.egress import declared

from . import bootstrap, egress_output, pool_access

app = typer.Typer(
    help="Manage the egresses (proxies and Cloudflare clearance) of the token pool.",
    no_args_is_help=True,
)

ProxyOption = typer.Option(
    None, "--proxy", help="http(s)://, socks5:// or socks5h:// URL, credentials allowed."
)
AssetProxyOption = typer.Option(
    None, "--asset-proxy", help="Proxy for asset downloads (default: the --proxy)."
)
TagOption = typer.Option(None, "--tag", help="Tag (repeatable); accounts with it prefer it.")
InflightOption = typer.Option(
    None, "--max-inflight", min=0, help="Concurrent upstream calls through it (0 = no cap)."
)
BrowserOption = typer.Option(None, "--browser", help="TLS fingerprint (default security.browser).")
UserAgentOption = typer.Option(
    None, "--user-agent", help="User-Agent (default security.user_agent)."
)
ClearanceOption = typer.Option(
    None, "--clearance", help="A pasted cf_clearance value or Cookie header, for --user-agent."
)
JsonOption = typer.Option(False, "--json", help="Print JSON lines.")


@app.command()
def add(
    name: str = typer.Argument(..., help="A name of your choice (unique)."),
    proxy: str | None = ProxyOption,
    asset_proxy: str | None = AssetProxyOption,
    tag: list[str] | None = TagOption,
    max_inflight: int | None = InflightOption,
    browser: str | None = BrowserOption,
    user_agent: str | None = UserAgentOption,
    clearance: str | None = ClearanceOption,
    disabled: bool = typer.Option(False, "--disabled", help="Add it without using it yet."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Add an egress (direct without --proxy)."""

    async def job(pool: PoolClient) -> Egress:
        return await pool.add_egress(
            name=name, proxy_url=proxy or "", asset_proxy_url=asset_proxy or "",
            tags=tag or (), enabled=not disabled, max_inflight=max_inflight or 0,
            browser=browser or "", user_agent=user_agent or "", clearance_cookies=clearance or "",
        )  # fmt: skip

    added = pool_access.run(config, addr, local, job)
    typer.echo(f"{added.id} {added.name} {added.proxy_masked or 'direct'} {added.state}")


@app.command(name="import")
def import_(
    file: Path = typer.Argument(
        ..., help="Proxy URLs one a line, or a JSON/YAML list of egresses; - = stdin."
    ),
    tag: list[str] | None = typer.Option(
        None, "--tag", help="Tag added to every entry (repeatable)."
    ),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Add or update (by name) many egresses, with a progress bar.

    Entries without a name are named after their proxy's host:port."""
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        entries = declared.parse(text)
    except OSError as exc:
        bootstrap.fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        bootstrap.fail(f"{file} is not UTF-8 text")
    except declared.DeclaredError as exc:
        bootstrap.fail(f"{file}: {exc}")

    async def job(pool: PoolClient) -> tuple[int, int, int]:
        known = {e.name for e in await pool.list_egresses()}
        added = updated = failed = 0
        with pool_access.progress() as progress:
            task = progress.add_task("importing", total=len(entries))
            for entry in entries:
                tags = tuple(dict.fromkeys((*entry.tags, *(tag or ()))))
                try:
                    if entry.name in known:
                        await _update_from(pool, entry, tags)
                        updated += 1
                    else:
                        await _add_from(pool, entry, tags)
                        known.add(entry.name)
                        added += 1
                except errors.InvalidRequest as exc:
                    progress.console.print(f"{entry.name}: {exc}", soft_wrap=True, markup=False)
                    failed += 1
                progress.advance(task)
        return added, updated, failed

    added, updated, failed = pool_access.run(config, addr, local, job)
    typer.echo(f"added {added}, updated {updated}, failed {failed} of {len(entries)} egresses")
    if failed:
        raise typer.Exit(1)


async def _add_from(pool: PoolClient, entry: declared.Entry, tags: Sequence[str]) -> None:
    await pool.add_egress(
        name=entry.name, proxy_url=entry.proxy, asset_proxy_url=entry.asset_proxy, tags=tags,
        enabled=entry.enabled, max_inflight=entry.max_inflight, browser=entry.browser,
        user_agent=entry.user_agent, clearance_cookies=entry.clearance,
    )  # fmt: skip


async def _update_from(pool: PoolClient, entry: declared.Entry, tags: Sequence[str]) -> None:
    # A clearance the file does not give is kept (the solver's, or one pasted before).
    await pool.update_egress(
        entry.name, proxy_url=entry.proxy, asset_proxy_url=entry.asset_proxy, tags=tags,
        enabled=entry.enabled, max_inflight=entry.max_inflight, browser=entry.browser,
        user_agent=entry.user_agent, clearance_cookies=entry.clearance or None,
    )  # fmt: skip


@app.command(name="list")
def list_(
    tag: str | None = typer.Option(None, help="Only egresses with this tag."),
    as_json: bool = JsonOption,
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """List egresses with their state, load and clearance (proxies masked, no cookies)."""

    async def job(pool: PoolClient) -> tuple[Egress, ...]:
        return await pool.list_egresses()

    egresses = [e for e in pool_access.run(config, addr, local, job) if not tag or tag in e.tags]
    if as_json:
        for e in egresses:
            typer.echo(json.dumps(egress_output.egress_json(e)))
        return
    Console(width=200).print(egress_output.table(egresses))


@app.command()
def show(
    name: str = typer.Argument(..., help="Egress name or id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Show one egress in full (proxies masked, no cookies)."""

    async def job(pool: PoolClient) -> Egress:
        return _find(await pool.list_egresses(), name)

    egress = pool_access.run(config, addr, local, job)
    if as_json:
        typer.echo(json.dumps(egress_output.egress_json(egress), indent=2))
        return
    lines = egress_output.detail(egress)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        typer.echo(f"{label:<{width}}  {value}")


@app.command()
def update(
    name: str = typer.Argument(..., help="Egress name or id."),
    new_name: str | None = typer.Option(None, "--name", help="Rename it."),
    proxy: str | None = typer.Option(
        None, "--proxy", help='New proxy URL ("" = direct); forgets the clearance.'
    ),
    asset_proxy: str | None = AssetProxyOption,
    tag: list[str] | None = typer.Option(
        None, "--tag", help="Replace the tags (repeatable; --no-tags clears them)."
    ),
    no_tags: bool = typer.Option(False, "--no-tags", help="Remove every tag."),
    max_inflight: int | None = InflightOption,
    browser: str | None = BrowserOption,
    user_agent: str | None = UserAgentOption,
    clearance: str | None = ClearanceOption,
    forget_clearance: bool = typer.Option(
        False, "--forget-clearance", help="Drop the clearance it holds."
    ),
    enabled: bool | None = typer.Option(None, "--enable/--disable", help="Use it, or not."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Change an egress; options not given are kept."""
    if clearance is not None and forget_clearance:
        bootstrap.fail("give --clearance or --forget-clearance, not both")
    if tag and no_tags:
        bootstrap.fail("give --tag or --no-tags, not both")
    tags: tuple[str, ...] | None = () if no_tags else (tuple(tag) if tag else None)

    async def job(pool: PoolClient) -> Egress:
        return await pool.update_egress(
            name, name=new_name, proxy_url=proxy, asset_proxy_url=asset_proxy, tags=tags,
            enabled=enabled, max_inflight=max_inflight, browser=browser, user_agent=user_agent,
            clearance_cookies="" if forget_clearance else clearance,
        )  # fmt: skip

    changed = pool_access.run(config, addr, local, job)
    typer.echo(f"{changed.id} {changed.name} {changed.proxy_masked or 'direct'} {changed.state}")


@app.command()
def test(
    names: list[str] | None = typer.Argument(None, help="Egress names or ids; none with --all."),
    all_egresses: bool = typer.Option(False, "--all", help="Test every egress."),
    as_json: bool = JsonOption,
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Fetch the upstream's home page through each egress, with a progress bar.

    Each egress is tried with its own proxy, clearance and browser; exit status 1 when one
    fails."""
    if not names and not all_egresses:
        bootstrap.fail("give egress names or --all")

    async def job(pool: PoolClient) -> list[EgressTest]:
        ids = [] if all_egresses else [_find(await pool.list_egresses(), n).id for n in names or ()]
        results: list[EgressTest] = []
        with pool_access.progress() as progress:
            task = progress.add_task("testing", total=len(ids) or None)
            async for event in pool.test_egresses(ids, all_egresses=all_egresses):
                if event.finished:
                    break
                results.append(event)
                progress.update(task, total=event.total, completed=event.done)
        return results

    results = pool_access.run(config, addr, local, job)
    for result in results:
        typer.echo(
            json.dumps(egress_output.test_json(result))
            if as_json
            else egress_output.test_line(result)
        )
    failed = sum(not r.ok for r in results)
    if not as_json:
        typer.echo(f"{len(results) - failed} of {len(results)} egresses passed")
    if failed:
        raise typer.Exit(1)


@app.command()
def refresh(
    names: list[str] = typer.Argument(..., help="Egress names or ids."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Obtain a new Cloudflare clearance through the solver (egress.solver_url) now."""

    async def job(pool: PoolClient) -> list[tuple[str, ClearanceRefresh]]:
        return [(name, await pool.refresh_clearance(name)) for name in names]

    done = pool_access.run(config, addr, local, job)
    for name, result in done:
        typer.echo(f"{name}: {result.result}" + (f": {result.message}" if result.message else ""))
    if any(r.result in (RefreshResult.FAILED, RefreshResult.NO_SOLVER) for _, r in done):
        raise typer.Exit(1)


@app.command()
def remove(
    names: list[str] = typer.Argument(..., help="Egress names or ids."),
    config: Path | None = pool_access.ConfigOption,
    addr: str | None = pool_access.AddrOption,
    local: bool = pool_access.LocalOption,
) -> None:
    """Remove egresses; their accounts move to the others."""

    async def job(pool: PoolClient) -> None:
        # every name checked before any is removed, so a typo leaves nothing half done
        listed = await pool.list_egresses()
        found = [_find(listed, name) for name in names]
        for egress in found:
            await pool.remove_egress(egress.id)
            typer.echo(f"removed {egress.name}")

    pool_access.run(config, addr, local, job)


def _find(egresses: Sequence[Egress], wanted: str) -> Egress:
    for egress in egresses:
        if wanted in (egress.id, egress.name):
            return egress
    raise errors.EgressNotFound(f"no egress named {wanted!r} (see grok2api egress list)")
