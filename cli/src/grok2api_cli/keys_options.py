"""``grok2api keys`` options read from the command line: limits, lists, expiry times.

A mistake ends the command with one line saying what to give instead (``bootstrap.fail``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from grok2api_storage import records

from . import bootstrap

CLEAR = frozenset({"none", "off", "unlimited", "-"})
"""Words that clear a limit in ``update`` (and mean "no limit" in ``create``)."""
DURATION = re.compile(r"^(\d+)\s*([hdw])$")
DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def cleared(text: str) -> bool:
    return text.strip().lower() in CLEAR


def count(text: str, option: str) -> int | None:
    if cleared(text):
        return None
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        bootstrap.fail(f"{option} {text!r}: give a whole number above 0, or none for no limit")
    return value


def names(text: str, option: str) -> tuple[str, ...] | None:
    if cleared(text) or text.strip().lower() == "all":
        return None
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        bootstrap.fail(f"{option} {text!r}: give comma-separated names, or none to clear it")
    return names


def parse_quota_unit(text: str) -> records.QuotaUnit:
    try:
        return records.QuotaUnit(text.strip().lower())
    except ValueError:
        bootstrap.fail(f"--quota-unit {text!r}: choose requests or cost")


def parse_expires(text: str, now: datetime) -> datetime | None:
    """``none``, a duration from ``now`` (``30d``), a date (UTC midnight) or an ISO time
    (UTC when it names no zone)."""
    if cleared(text) or text.strip().lower() == "never":
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


def limit_changes(
    now: datetime,
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
        changes["allowed_models"] = names(models, "--models")
    if rpm is not None:
        changes["rate_limit_per_minute"] = count(rpm, "--rpm")
    if concurrency is not None:
        changes["max_concurrent"] = count(concurrency, "--concurrency")
    if daily is not None:
        changes["daily_quota"] = count(daily, "--daily")
    if monthly is not None:
        changes["monthly_quota"] = count(monthly, "--monthly")
    if quota_unit is not None:
        changes["quota_unit"] = parse_quota_unit(quota_unit)
    if tags is not None:
        changes["account_tags"] = names(tags, "--tags")
    if expires is not None:
        expires_at = parse_expires(expires, now)
        if expires_at is not None and expires_at <= now:
            bootstrap.fail(f"--expires {expires!r} is in the past: give a later time, or none")
        changes["expires_at"] = expires_at
    return changes
