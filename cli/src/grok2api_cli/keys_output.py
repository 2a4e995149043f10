"""How ``grok2api keys`` shows keys and usage: states, limits, JSON, tables with bars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from grok2api_storage import records
from rich.bar import Bar
from rich.table import Table


def state(key: records.ClientKeyRecord, now: datetime) -> str:
    """active, disabled, revoked or expired."""
    return key.refusal(now) or "active"


STATE_STYLE = {"active": "green", "disabled": "yellow", "revoked": "red", "expired": "red"}


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def shown(at: datetime | None) -> str:
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
        "enabled": key.enabled, "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at), "revoked_at": iso(key.revoked_at),
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
            "expires_at": iso(limits.expires_at),
        },
    }  # fmt: skip


def period_start(now: datetime, by: records.UsageGrouping) -> datetime:
    """The UTC start of the day (or hour) ``now`` is in."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if by is records.UsageGrouping.DAY else start


def month_start(now: datetime) -> datetime:
    return period_start(now, records.UsageGrouping.DAY).replace(day=1)


def bucket_json(bucket: records.UsageBucket) -> dict[str, Any]:
    return {
        "period": iso(bucket.period), "requests": bucket.requests, "errors": bucket.errors,
        "prompt_tokens": bucket.prompt_tokens, "completion_tokens": bucket.completion_tokens,
        "cost_units": bucket.cost_units,
        "latency_ms_avg": round(bucket.latency_ms_total / bucket.requests, 1)
        if bucket.requests else None,
    }  # fmt: skip


def or_none(value: int | None) -> str:
    return "no limit" if value is None else str(value)


def traffic(bucket: records.UsageBucket) -> str:
    return (
        f"{bucket.requests} requests, {bucket.errors} errors, {bucket.prompt_tokens} tokens in, "
        f"{bucket.completion_tokens} out, {bucket.cost_units} cost units"
    )


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


def usage_title(key: records.ClientKeyRecord | None, by: str, span: int) -> str:
    who = f"key {key.name} ({key.id})" if key is not None else "every key"
    return f"usage of {who}, by {by}, last {span} day{'s' if span != 1 else ''} (UTC)"


def usage_table(
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
