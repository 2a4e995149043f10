"""``grok2api keys``: create, list, show, change, revoke client API keys and read their usage.

Commands open the durable store the settings name (``server.storage_type`` /
``storage_url``, as every target does) and work on it directly: keys live in the store,
and the gateways re-read them within a second, so no running service is needed. A key's
secret (``g2a-…``) is printed once by ``create`` and never again: only its hash is
stored. ``KEY`` is a key's id, or its name when no other key has that name.

Limits are given as options; in ``update`` the word ``none`` clears one (``--rpm none``).
Configuration, connection and input errors end a command with one line naming what to
fix, exit status 2 (``bootstrap.fail``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import typer
from grok2api_storage import StorageError, protocols, records
from rich.console import Console
from rich.table import Table

from . import bootstrap, keys_options, stores
from . import keys_output as out

app = typer.Typer(
    help="Manage the client API keys callers use, and read their usage.", no_args_is_help=True
)
T = TypeVar("T")

ConfigOption = typer.Option(None, "--config", "-c", help="Config file.")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")
ModelsOption = typer.Option(
    None, "--models", help="Comma-separated models the key may use; none: every model."
)
RpmOption = typer.Option(None, "--rpm", help="Requests per rolling minute; none: no limit.")
ConcurrencyOption = typer.Option(
    None, "--concurrency", help="Requests in flight at once (all replicas); none: no limit."
)
DailyOption = typer.Option(
    None, "--daily", help="Quota per UTC day, counted in --quota-unit; none: no daily quota."
)
MonthlyOption = typer.Option(
    None, "--monthly", help="Quota per UTC month, counted in --quota-unit; none: no quota."
)
QuotaUnitOption = typer.Option(
    None,
    "--quota-unit",
    help="What --daily and --monthly count: requests or cost (the "
    "models' cost units; a heavier model costs more). Default requests.",
)
TagsOption = typer.Option(
    None,
    "--tags",
    help="Comma-separated account tags: only accounts carrying one of them "
    "serve this key; none: any account.",
)
ExpiresOption = typer.Option(
    None,
    "--expires",
    help="When the key stops working: a date (2027-01-01, UTC midnight), "
    "an ISO time, or a duration from now (12h, 30d, 2w); none: never.",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _run(config: Path | None, job: Callable[[protocols.Store], Awaitable[T]]) -> T:
    """Open the store of ``config``'s settings, run ``job`` on it, close it; configuration
    and store errors become one line naming what to fix (exit status 2)."""

    async def main() -> T:
        settings = bootstrap.load_settings(config).settings
        async with stores.opened(settings, credentials=False) as store:
            return await job(store)

    try:
        return asyncio.run(main())
    except (bootstrap.StartupError, StorageError) as exc:
        bootstrap.fail(str(exc) or type(exc).__name__)


def _console() -> Console:
    return Console(width=200)


async def find(keys: protocols.ClientKeyRepository, ref: str) -> records.ClientKeyRecord:
    """The key whose id is ``ref``, else the one key named ``ref``."""
    found = await keys.get(ref)
    if found is not None:
        return found
    named = [key for key in await keys.list() if key.name == ref]
    if len(named) == 1:
        return named[0]
    if named:
        bootstrap.fail(
            f"{len(named)} keys are named {ref!r}: give the id instead "
            f"({', '.join(key.id for key in named)})"
        )
    bootstrap.fail(f"no client key {ref!r}: give an id or a name from `grok2api keys list`")


# --- commands ---------------------------------------------------------------------------


@app.command()
def create(
    name: str = typer.Argument(..., help="What the key is for (shown in listings)."),
    models: str | None = ModelsOption,
    rpm: str | None = RpmOption,
    concurrency: str | None = ConcurrencyOption,
    daily: str | None = DailyOption,
    monthly: str | None = MonthlyOption,
    quota_unit: str | None = QuotaUnitOption,
    tags: str | None = TagsOption,
    expires: str | None = ExpiresOption,
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Create a key and print its secret, once: only its hash is stored."""
    limits = records.ClientKeyLimits(**keys_options.limit_changes(_now(),
        models=models, rpm=rpm, concurrency=concurrency, daily=daily, monthly=monthly,
        quota_unit=quota_unit, tags=tags, expires=expires,
    ))  # fmt: skip

    async def job(store: protocols.Store) -> records.CreatedClientKey:
        return await store.client_keys.create(name=name, limits=limits)

    created = _run(config, job)
    key = created.record
    if as_json:
        typer.echo(json.dumps({**out.key_json(key, _now()), "secret": created.plain_key}))
    else:
        typer.echo(f"created key {key.id} ({key.name}); limits: {out.limits_text(key.limits)}")
        typer.echo(created.plain_key)
    typer.echo(
        "This secret is shown once and never again (only its hash is stored): copy it now.",
        err=True,
    )


@app.command(name="list")
def list_(as_json: bool = JsonOption, config: Path | None = ConfigOption) -> None:
    """List every key, revoked ones included (secrets are never shown)."""

    async def job(store: protocols.Store) -> Sequence[records.ClientKeyRecord]:
        return await store.client_keys.list()

    keys = _run(config, job)
    now = _now()
    if as_json:
        typer.echo(json.dumps([out.key_json(key, now) for key in keys], indent=2))
        return
    table = Table(title=f"{len(keys)} client keys")
    for column in ("name", "id", "key", "state", "limits", "expires", "last used"):
        table.add_column(column)
    for key in keys:
        shown_state = out.state(key, now)
        table.add_row(
            key.name, key.id, key.masked, f"[{out.STATE_STYLE[shown_state]}]{shown_state}[/]",
            out.limits_text(key.limits), out.shown(key.limits.expires_at),
            out.shown(key.last_used_at),
        )  # fmt: skip
    _console().print(table)


async def _total(
    usage: protocols.UsageRepository, key_id: str, since: datetime
) -> records.UsageBucket:
    buckets = await usage.summary(filters=records.UsageFilter(key_id=key_id, since=since))
    return buckets[0] if buckets else records.UsageBucket()


def _used(bucket: records.UsageBucket, limits: records.ClientKeyLimits) -> int:
    return bucket.cost_units if limits.quota_unit is records.QuotaUnit.COST else bucket.requests


@app.command()
def show(
    key_ref: str = typer.Argument(..., metavar="KEY", help="The key's id (or unique name)."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """One key's details, and what it used today and this month (UTC) against its quotas."""
    now = _now()

    async def job(
        store: protocols.Store,
    ) -> tuple[records.ClientKeyRecord, records.UsageBucket, records.UsageBucket]:
        key = await find(store.client_keys, key_ref)
        today = await _total(store.usage, key.id, out.period_start(now, records.UsageGrouping.DAY))
        month = await _total(store.usage, key.id, out.month_start(now))
        return key, today, month

    key, today, month = _run(config, job)
    if as_json:
        typer.echo(json.dumps(
            {**out.key_json(key, now), "today": out.bucket_json(today),
             "month": out.bucket_json(month)},
            indent=2,
        ))  # fmt: skip
        return
    limits = key.limits
    unit = "cost units" if limits.quota_unit is records.QuotaUnit.COST else "requests"
    table = Table(show_header=False, title=f"client key {key.name}")
    table.add_column("field", style="bold")
    table.add_column("value")
    shown_state = out.state(key, now)

    def quota(used: int, of: int | None) -> str:
        return f"{used} {unit}" + (f" of {of}" if of is not None else " (no quota)")

    rows = [
        ("id", key.id), ("key", key.masked),
        ("state", f"[{out.STATE_STYLE[shown_state]}]{shown_state}[/]"),
        ("created", out.shown(key.created_at)), ("last used", out.shown(key.last_used_at)),
        ("revoked", out.shown(key.revoked_at)), ("expires", out.shown(limits.expires_at)),
        ("models", ", ".join(limits.allowed_models) if limits.allowed_models else "all"),
        ("per minute", out.or_none(limits.rate_limit_per_minute)),
        ("at once", out.or_none(limits.max_concurrent)),
        ("account tags", ", ".join(limits.account_tags) if limits.account_tags else "any"),
        ("today (UTC)", quota(_used(today, limits), limits.daily_quota)),
        ("this month", quota(_used(month, limits), limits.monthly_quota)),
        ("today's traffic", out.traffic(today)), ("this month's traffic", out.traffic(month)),
    ]  # fmt: skip
    for field, value in rows:
        table.add_row(field, value)
    _console().print(table)


@app.command()
def update(
    key_ref: str = typer.Argument(..., metavar="KEY", help="The key's id (or unique name)."),
    name: str | None = typer.Option(None, "--name", help="A new name."),
    enable: bool | None = typer.Option(
        None, "--enable/--disable", help="Let the key work again, or stop it for now."
    ),
    models: str | None = ModelsOption,
    rpm: str | None = RpmOption,
    concurrency: str | None = ConcurrencyOption,
    daily: str | None = DailyOption,
    monthly: str | None = MonthlyOption,
    quota_unit: str | None = QuotaUnitOption,
    tags: str | None = TagsOption,
    expires: str | None = ExpiresOption,
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Change a key's name, state or limits; `none` clears a limit (--rpm none)."""
    changes = keys_options.limit_changes(_now(),
        models=models, rpm=rpm, concurrency=concurrency, daily=daily, monthly=monthly,
        quota_unit=quota_unit, tags=tags, expires=expires,
    )  # fmt: skip
    if name is not None:
        changes["name"] = name
    if enable is not None:
        changes["enabled"] = enable
    if not changes:
        bootstrap.fail("nothing to change: give --name, --enable/--disable or a limit option")
    patch = records.ClientKeyPatch(**changes)

    async def job(store: protocols.Store) -> records.ClientKeyRecord:
        key = await find(store.client_keys, key_ref)
        return await store.client_keys.update(key.id, patch)

    key = _run(config, job)
    if as_json:
        typer.echo(json.dumps(out.key_json(key, _now())))
        return
    typer.echo(
        f"updated key {key.id} ({key.name}): {out.state(key, _now())}; "
        f"limits: {out.limits_text(key.limits)}"
    )


@app.command()
def revoke(
    key_ref: str = typer.Argument(..., metavar="KEY", help="The key's id (or unique name)."),
    config: Path | None = ConfigOption,
) -> None:
    """Revoke a key for good: refused from now on (its record and usage stay)."""

    async def job(store: protocols.Store) -> records.ClientKeyRecord | None:
        key = await find(store.client_keys, key_ref)
        return await store.client_keys.revoke(key.id)

    key = _run(config, job)
    if key is None:  # deleted between the lookup and the revocation
        bootstrap.fail(f"no client key {key_ref!r}: give an id from `grok2api keys list`")
    typer.echo(f"revoked key {key.id} ({key.name}) at {out.shown(key.revoked_at)}")


@app.command()
def usage(
    key_ref: str | None = typer.Argument(
        None, metavar="[KEY]", help="The key's id (or unique name); every key when omitted."
    ),
    days: int | None = typer.Option(
        None, "--days", min=1, max=366, help="How many days back (default 14 by day, 1 by hour)."
    ),
    by: str = typer.Option("day", "--by", help="day or hour (UTC)."),
    model: str | None = typer.Option(None, "--model", help="Only this model."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Requests, errors, tokens and cost units per day (or hour), with bars."""
    if by not in ("day", "hour"):
        bootstrap.fail(f"--by {by!r}: choose day or hour")
    grouping = records.UsageGrouping(by)
    span = days if days is not None else (14 if grouping is records.UsageGrouping.DAY else 1)
    now = _now()
    since = out.period_start(now, grouping) - (
        timedelta(days=span - 1) if grouping is records.UsageGrouping.DAY
        else timedelta(hours=24 * span - 1)
    )  # fmt: skip

    async def job(
        store: protocols.Store,
    ) -> tuple[records.ClientKeyRecord | None, tuple[records.UsageBucket, ...]]:
        key = await find(store.client_keys, key_ref) if key_ref is not None else None
        filters = records.UsageFilter(
            since=since, key_id=key.id if key is not None else None, model=model
        )
        return key, await store.usage.summary(filters=filters, group_by=(grouping,))

    key, buckets = _run(config, job)
    rows = out.usage_rows(buckets, since, now, grouping)
    if as_json:
        typer.echo(json.dumps({
            "key_id": key.id if key is not None else None, "by": by, "since": out.iso(since),
            "items": [out.bucket_json(row) for row in rows],
        }, indent=2))  # fmt: skip
        return
    cost = key is not None and key.limits.quota_unit is records.QuotaUnit.COST
    title = out.usage_title(key, by, span)
    _console().print(out.usage_table(rows, grouping, title=title, cost=cost))
