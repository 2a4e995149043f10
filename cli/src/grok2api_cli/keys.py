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
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import typer
from grok2api_storage import StorageError, protocols, records
from rich.bar import Bar
from rich.console import Console
from rich.table import Table

from . import bootstrap, stores

app = typer.Typer(
    help="Manage the client API keys callers use, and read their usage.", no_args_is_help=True
)
T = TypeVar("T")

CLEAR = frozenset({"none", "off", "unlimited", "-"})
"""Words that clear a limit in ``update`` (and mean "no limit" in ``create``)."""
DURATION = re.compile(r"^(\d+)\s*([hdw])$")
DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

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


# --- option parsing -------------------------------------------------------------------


def _cleared(text: str) -> bool:
    return text.strip().lower() in CLEAR


def _count(text: str, option: str) -> int | None:
    if _cleared(text):
        return None
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        bootstrap.fail(f"{option} {text!r}: give a whole number above 0, or none for no limit")
    return value


def _names(text: str, option: str) -> tuple[str, ...] | None:
    if _cleared(text) or text.strip().lower() == "all":
        return None
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        bootstrap.fail(f"{option} {text!r}: give comma-separated names, or none to clear it")
    return names


def _unit(text: str) -> records.QuotaUnit:
    try:
        return records.QuotaUnit(text.strip().lower())
    except ValueError:
        bootstrap.fail(f"--quota-unit {text!r}: choose requests or cost")


def parse_expires(text: str, now: datetime) -> datetime | None:
    """``none``, a duration from ``now`` (``30d``), a date (UTC midnight) or an ISO time
    (UTC when it names no zone)."""
    if _cleared(text) or text.strip().lower() == "never":
        return None
    duration = DURATION.match(text.strip().lower())
    if duration:
        return now + int(duration.group(1)) * DURATION_UNITS[duration.group(2)]
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        bootstrap.fail(
            f"--expires {text!r}: give a date (2027-01-01), an ISO time "
            "(2027-01-01T12:00:00+00:00), a duration from now (12h, 30d, 2w), or none"
        )
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _limit_changes(
    *,
    models: str | None,
    rpm: str | None,
    concurrency: str | None,
    daily: str | None,
    monthly: str | None,
    quota_unit: str | None,
    tags: str | None,
    expires: str | None,
) -> dict[str, Any]:
    """The limits given on the command line, by ``ClientKeyLimits`` field name."""
    changes: dict[str, Any] = {}
    if models is not None:
        changes["allowed_models"] = _names(models, "--models")
    if rpm is not None:
        changes["rate_limit_per_minute"] = _count(rpm, "--rpm")
    if concurrency is not None:
        changes["max_concurrent"] = _count(concurrency, "--concurrency")
    if daily is not None:
        changes["daily_quota"] = _count(daily, "--daily")
    if monthly is not None:
        changes["monthly_quota"] = _count(monthly, "--monthly")
    if quota_unit is not None:
        changes["quota_unit"] = _unit(quota_unit)
    if tags is not None:
        changes["account_tags"] = _names(tags, "--tags")
    if expires is not None:
        expires_at = parse_expires(expires, _now())
        if expires_at is not None and expires_at <= _now():
            bootstrap.fail(f"--expires {expires!r} is in the past: give a later time, or none")
        changes["expires_at"] = expires_at
    return changes


# --- presenting -------------------------------------------------------------------------


def state(key: records.ClientKeyRecord, now: datetime) -> str:
    """active, disabled, revoked or expired."""
    return key.refusal(now) or "active"


STATE_STYLE = {"active": "green", "disabled": "yellow", "revoked": "red", "expired": "red"}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _shown(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else "—"


def limits_text(limits: records.ClientKeyLimits) -> str:
    """One line: ``60/min · 4 at once · 1000 requests/day · models a,b · tags x``."""
    unit = "cost units" if limits.quota_unit is records.QuotaUnit.COST else "requests"
    parts = []
    if limits.rate_limit_per_minute is not None:
        parts.append(f"{limits.rate_limit_per_minute}/min")
    if limits.max_concurrent is not None:
        parts.append(f"{limits.max_concurrent} at once")
    if limits.daily_quota is not None:
        parts.append(f"{limits.daily_quota} {unit}/day")
    if limits.monthly_quota is not None:
        parts.append(f"{limits.monthly_quota} {unit}/month")
    if limits.allowed_models is not None:
        parts.append("models " + ",".join(limits.allowed_models))
    if limits.account_tags is not None:
        parts.append("tags " + ",".join(limits.account_tags))
    return " · ".join(parts) or "none"


def key_json(key: records.ClientKeyRecord, now: datetime) -> dict[str, Any]:
    limits = key.limits
    return {
        "id": key.id, "name": key.name, "prefix": key.prefix, "state": state(key, now),
        "enabled": key.enabled, "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at), "revoked_at": _iso(key.revoked_at),
        "limits": {
            "allowed_models": list(limits.allowed_models)
            if limits.allowed_models is not None else None,
            "rate_limit_per_minute": limits.rate_limit_per_minute,
            "max_concurrent": limits.max_concurrent,
            "quota_unit": limits.quota_unit.value,
            "daily_quota": limits.daily_quota,
            "monthly_quota": limits.monthly_quota,
            "account_tags": list(limits.account_tags)
            if limits.account_tags is not None else None,
            "expires_at": _iso(limits.expires_at),
        },
    }  # fmt: skip


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
    limits = records.ClientKeyLimits(**_limit_changes(
        models=models, rpm=rpm, concurrency=concurrency, daily=daily, monthly=monthly,
        quota_unit=quota_unit, tags=tags, expires=expires,
    ))  # fmt: skip

    async def job(store: protocols.Store) -> records.CreatedClientKey:
        return await store.client_keys.create(name=name, limits=limits)

    created = _run(config, job)
    key = created.record
    if as_json:
        typer.echo(json.dumps({**key_json(key, _now()), "secret": created.plain_key}))
    else:
        typer.echo(f"created key {key.id} ({key.name}); limits: {limits_text(key.limits)}")
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
        typer.echo(json.dumps([key_json(key, now) for key in keys], indent=2))
        return
    table = Table(title=f"{len(keys)} client keys")
    for column in ("name", "id", "key", "state", "limits", "expires", "last used"):
        table.add_column(column)
    for key in keys:
        shown_state = state(key, now)
        table.add_row(
            key.name, key.id, key.masked, f"[{STATE_STYLE[shown_state]}]{shown_state}[/]",
            limits_text(key.limits), _shown(key.limits.expires_at), _shown(key.last_used_at),
        )  # fmt: skip
    _console().print(table)


def period_start(now: datetime, by: records.UsageGrouping) -> datetime:
    """The UTC start of the day (or hour) ``now`` is in."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if by is records.UsageGrouping.DAY else start


def month_start(now: datetime) -> datetime:
    return period_start(now, records.UsageGrouping.DAY).replace(day=1)


async def _total(
    usage: protocols.UsageRepository, key_id: str, since: datetime
) -> records.UsageBucket:
    buckets = await usage.summary(filters=records.UsageFilter(key_id=key_id, since=since))
    return buckets[0] if buckets else records.UsageBucket()


def _bucket_json(bucket: records.UsageBucket) -> dict[str, Any]:
    return {
        "period": _iso(bucket.period), "requests": bucket.requests, "errors": bucket.errors,
        "prompt_tokens": bucket.prompt_tokens, "completion_tokens": bucket.completion_tokens,
        "cost_units": bucket.cost_units,
        "latency_ms_avg": round(bucket.latency_ms_total / bucket.requests, 1)
        if bucket.requests else None,
    }  # fmt: skip


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
        today = await _total(store.usage, key.id, period_start(now, records.UsageGrouping.DAY))
        month = await _total(store.usage, key.id, month_start(now))
        return key, today, month

    key, today, month = _run(config, job)
    if as_json:
        typer.echo(json.dumps(
            {**key_json(key, now), "today": _bucket_json(today), "month": _bucket_json(month)},
            indent=2,
        ))  # fmt: skip
        return
    limits = key.limits
    unit = "cost units" if limits.quota_unit is records.QuotaUnit.COST else "requests"
    table = Table(show_header=False, title=f"client key {key.name}")
    table.add_column("field", style="bold")
    table.add_column("value")
    shown_state = state(key, now)

    def quota(used: int, of: int | None) -> str:
        return f"{used} {unit}" + (f" of {of}" if of is not None else " (no quota)")

    rows = [
        ("id", key.id), ("key", key.masked),
        ("state", f"[{STATE_STYLE[shown_state]}]{shown_state}[/]"),
        ("created", _shown(key.created_at)), ("last used", _shown(key.last_used_at)),
        ("revoked", _shown(key.revoked_at)), ("expires", _shown(limits.expires_at)),
        ("models", ", ".join(limits.allowed_models) if limits.allowed_models else "all"),
        ("per minute", _or_none(limits.rate_limit_per_minute)),
        ("at once", _or_none(limits.max_concurrent)),
        ("account tags", ", ".join(limits.account_tags) if limits.account_tags else "any"),
        ("today (UTC)", quota(_used(today, limits), limits.daily_quota)),
        ("this month", quota(_used(month, limits), limits.monthly_quota)),
        ("today's traffic", _traffic(today)), ("this month's traffic", _traffic(month)),
    ]  # fmt: skip
    for field, value in rows:
        table.add_row(field, value)
    _console().print(table)


def _or_none(value: int | None) -> str:
    return "no limit" if value is None else str(value)


def _traffic(bucket: records.UsageBucket) -> str:
    return (
        f"{bucket.requests} requests, {bucket.errors} errors, {bucket.prompt_tokens} tokens in, "
        f"{bucket.completion_tokens} out, {bucket.cost_units} cost units"
    )


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
    changes = _limit_changes(
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
        typer.echo(json.dumps(key_json(key, _now())))
        return
    typer.echo(
        f"updated key {key.id} ({key.name}): {state(key, _now())}; "
        f"limits: {limits_text(key.limits)}"
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
    typer.echo(f"revoked key {key.id} ({key.name}) at {_shown(key.revoked_at)}")


def periods(since: datetime, until: datetime, by: records.UsageGrouping) -> list[datetime]:
    """The period starts from ``since`` (a period start) up to ``until``."""
    step = timedelta(days=1) if by is records.UsageGrouping.DAY else timedelta(hours=1)
    found = []
    at = since
    while at < until:
        found.append(at)
        at += step
    return found


def usage_rows(
    buckets: Sequence[records.UsageBucket],
    since: datetime,
    until: datetime,
    by: records.UsageGrouping,
) -> list[records.UsageBucket]:
    """One bucket per period from ``since`` to ``until``, quiet periods as zeros."""
    stored = {b.period.astimezone(UTC): b for b in buckets if b.period is not None}
    return [stored.get(at, records.UsageBucket(period=at)) for at in periods(since, until, by)]


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
    since = period_start(now, grouping) - (
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
    rows = usage_rows(buckets, since, now, grouping)
    if as_json:
        typer.echo(json.dumps({
            "key_id": key.id if key is not None else None, "by": by, "since": _iso(since),
            "items": [_bucket_json(row) for row in rows],
        }, indent=2))  # fmt: skip
        return
    cost = key is not None and key.limits.quota_unit is records.QuotaUnit.COST
    _console().print(_usage_table(rows, grouping, title=_usage_title(key, by, span), cost=cost))


def _usage_title(key: records.ClientKeyRecord | None, by: str, span: int) -> str:
    who = f"key {key.name} ({key.id})" if key is not None else "every key"
    return f"usage of {who}, by {by}, last {span} day{'s' if span != 1 else ''} (UTC)"


def _usage_table(
    rows: Sequence[records.UsageBucket], by: records.UsageGrouping, *, title: str, cost: bool
) -> Table:
    """Periods as rows; a bar for requests and one for tokens (cost units for a key whose
    quota counts them)."""
    fmt = "%Y-%m-%d" if by is records.UsageGrouping.DAY else "%Y-%m-%d %H:00"
    most_requests = max((row.requests for row in rows), default=0) or 1
    second = "cost units" if cost else "tokens"

    def amount(row: records.UsageBucket) -> int:
        return row.cost_units if cost else row.prompt_tokens + row.completion_tokens

    most_second = max((amount(row) for row in rows), default=0) or 1
    table = Table(title=title)
    table.add_column(by)
    table.add_column("requests", justify="right")
    table.add_column("", min_width=20)
    table.add_column("errors", justify="right")
    table.add_column("tokens in", justify="right")
    table.add_column("tokens out", justify="right")
    table.add_column("cost units", justify="right")
    table.add_column(second, min_width=20)
    for row in rows:
        assert row.period is not None
        table.add_row(
            row.period.strftime(fmt), str(row.requests),
            Bar(most_requests, 0, row.requests, width=20, color="blue"),
            str(row.errors), str(row.prompt_tokens), str(row.completion_tokens),
            str(row.cost_units), Bar(most_second, 0, amount(row), width=20, color="green"),
        )  # fmt: skip
    total = records.UsageBucket(
        requests=sum(r.requests for r in rows), errors=sum(r.errors for r in rows),
        prompt_tokens=sum(r.prompt_tokens for r in rows),
        completion_tokens=sum(r.completion_tokens for r in rows),
        cost_units=sum(r.cost_units for r in rows),
    )  # fmt: skip
    table.add_section()
    table.add_row(
        "total", str(total.requests), "", str(total.errors), str(total.prompt_tokens),
        str(total.completion_tokens), str(total.cost_units), "",
    )  # fmt: skip
    return table
