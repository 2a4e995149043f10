"""``grok2api keys``: client keys and their usage from the command line, on the durable
store the settings name (SQLite in DATA_DIR here; PostgreSQL in the last test)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from grok2api_cli import keys_options, main
from grok2api_settings import Settings
from grok2api_storage import factory, protocols, records
from typer.testing import CliRunner, Result

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
from storage import support as storage_support  # noqa: E402

T = TypeVar("T")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings: a DATA_DIR of its own, SQLite (the default store)."""
    for name in ("SERVER_STORAGE_TYPE", "SERVER_STORAGE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_FILE_ENABLED", "false")
    yield tmp_path


def cli(*args: str) -> Result:
    return CliRunner().invoke(main.app, ["keys", *args], env={"COLUMNS": "200"})


def ok(*args: str) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


def on_store(settings: Settings, work: Callable[[protocols.Store], Awaitable[T]]) -> T:
    async def run() -> T:
        async with await factory.open_store(settings) as store:
            await store.migrate()
            return await work(store)

    return asyncio.run(run())


def local(data_dir: Path) -> Settings:
    return Settings.model_validate({"data_dir": str(data_dir)})


def usage(key_id: str | None, at: datetime, **fields: Any) -> records.UsageRecord:
    values: dict[str, Any] = {
        "model": "grok-4", "endpoint": "/v1/chat/completions", "status": 200,
        "prompt_tokens": 10, "completion_tokens": 20, "cost_units": 1, "latency_ms": 100.0,
        **fields,
    }  # fmt: skip
    return records.UsageRecord(id=uuid.uuid4().hex, timestamp=at, key_id=key_id, **values)


def add_usage(settings: Settings, entries: list[records.UsageRecord]) -> None:
    async def work(store: protocols.Store) -> int:
        return await store.usage.add_many(entries)

    assert on_store(settings, work) == len(entries)


def listed(data_dir: Path) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in json.loads(ok("list", "--json").stdout)}


def test_create_prints_the_secret_once_with_every_limit_stored(data_dir: Path) -> None:
    created = ok(
        "create", "ci bot", "--models", "grok-4,grok-3", "--rpm", "60", "--concurrency", "4",
        "--daily", "1000", "--monthly", "20000", "--quota-unit", "cost", "--tags", "vip,eu",
        "--expires", "2099-01-01",
    )  # fmt: skip

    secret = created.stdout.splitlines()[-1]
    assert secret.startswith("g2a-")
    assert "shown once" in created.stderr
    row = listed(data_dir)["ci bot"]
    assert row["state"] == "active"
    assert row["limits"] == {
        "allowed_models": ["grok-4", "grok-3"], "rate_limit_per_minute": 60,
        "max_concurrent": 4, "quota_unit": "cost", "daily_quota": 1000,
        "monthly_quota": 20000, "account_tags": ["vip", "eu"],
        "expires_at": "2099-01-01T00:00:00+00:00",
    }  # fmt: skip
    assert secret.startswith(row["prefix"])
    everything = ok("list").stdout + ok("list", "--json").stdout + ok("show", row["id"]).stdout
    assert secret not in everything

    async def find(store: protocols.Store) -> records.ClientKeyRecord | None:
        return await store.client_keys.find(secret)

    found = on_store(local(data_dir), find)
    assert found is not None and found.id == row["id"]


def test_the_table_shows_state_limits_and_prefix(data_dir: Path) -> None:
    ok("create", "limited", "--rpm", "30", "--daily", "500")
    ok("create", "stopped")
    ok("update", "stopped", "--disable")

    table = ok("list").stdout

    line = next(line for line in table.splitlines() if "limited" in line)
    assert "active" in line and "30/min" in line and "500 requests/day" in line
    assert "g2a-" in line
    assert "disabled" in next(line for line in table.splitlines() if "stopped" in line)


def test_update_changes_and_clears_limits_and_toggles_the_key(data_dir: Path) -> None:
    key_id = listed_id(ok("create", "app", "--rpm", "5", "--models", "grok-4", "--json"))

    ok("update", key_id, "--rpm", "none", "--models", "none", "--concurrency", "2",
       "--name", "renamed", "--expires", "30d", "--disable")  # fmt: skip

    row = listed(data_dir)["renamed"]
    assert row["state"] == "disabled"
    assert row["limits"]["rate_limit_per_minute"] is None
    assert row["limits"]["allowed_models"] is None
    assert row["limits"]["max_concurrent"] == 2
    expires = datetime.fromisoformat(row["limits"]["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    ok("update", "renamed", "--enable", "--expires", "none")
    row = listed(data_dir)["renamed"]
    assert (row["state"], row["limits"]["expires_at"]) == ("active", None)


def listed_id(result: Result) -> str:
    return str(json.loads(result.stdout)["id"])


def test_a_revoked_key_stays_listed_and_cannot_be_enabled(data_dir: Path) -> None:
    key_id = listed_id(ok("create", "old", "--json"))

    revoked = ok("revoke", key_id)

    assert "revoked key" in revoked.stdout
    assert listed(data_dir)["old"]["state"] == "revoked"
    again = cli("update", key_id, "--enable")
    assert again.exit_code == 2
    assert "revoked" in again.stderr and len(again.stderr.strip().splitlines()) == 1


def test_show_totals_today_and_this_month_against_the_quotas(data_dir: Path) -> None:
    key_id = listed_id(ok("create", "metered", "--daily", "100", "--monthly", "3000", "--json"))
    other_id = listed_id(ok("create", "other", "--json"))
    now = datetime.now(UTC)
    last_month = now.replace(day=1, hour=0, minute=0) - timedelta(days=1)
    add_usage(local(data_dir), [
        usage(key_id, now), usage(key_id, now, status=429, error_code="rate_limited"),
        usage(key_id, last_month), usage(other_id, now),
    ])  # fmt: skip

    shown = json.loads(ok("show", key_id, "--json").stdout)
    table = ok("show", "metered").stdout

    for period in ("today", "month"):
        assert shown[period]["requests"] == 2
        assert shown[period]["errors"] == 1
        assert shown[period]["prompt_tokens"] == 20
        assert shown[period]["completion_tokens"] == 40
    assert "2 requests of 100" in table and "2 requests of 3000" in table


def test_usage_prints_a_row_per_period_with_bars(data_dir: Path) -> None:
    key_id = listed_id(ok("create", "busy", "--json"))
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    add_usage(local(data_dir), [
        usage(key_id, now), usage(key_id, now, model="grok-3"),
        usage(key_id, today - timedelta(days=2) + timedelta(hours=5), prompt_tokens=1000),
        usage(key_id, today - timedelta(days=5)),  # before --days 3
        usage(None, now),  # the master key: not this key's
    ])  # fmt: skip

    by_day = json.loads(ok("usage", key_id, "--days", "3", "--json").stdout)
    table = ok("usage", "busy", "--days", "3").stdout
    by_hour = json.loads(ok("usage", key_id, "--by", "hour", "--json").stdout)
    grok3 = json.loads(ok("usage", key_id, "--days", "3", "--model", "grok-3", "--json").stdout)

    assert [item["requests"] for item in by_day["items"]] == [1, 0, 2]
    assert by_day["items"][0]["prompt_tokens"] == 1000
    assert by_day["items"][0]["period"] == (today - timedelta(days=2)).isoformat()
    assert "█" in table  # the bars
    assert re.findall(r"^│ (\d{4}-\d\d-\d\d) ", table, flags=re.MULTILINE) == [
        (today - timedelta(days=n)).strftime("%Y-%m-%d") for n in (2, 1, 0)
    ]
    assert len(by_hour["items"]) == 24
    this_hour = now.replace(minute=0, second=0, microsecond=0).isoformat()
    assert [i["requests"] for i in by_hour["items"] if i["period"] == this_hour] == [2]
    assert sum(item["requests"] for item in grok3["items"]) == 1
    everyone = json.loads(ok("usage", "--days", "3", "--json").stdout)
    assert sum(item["requests"] for item in everyone["items"]) == 4


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("create", "x", "--rpm", "0"), "--rpm '0'"),
        (("create", "x", "--daily", "lots"), "--daily 'lots'"),
        (("create", "x", "--quota-unit", "tokens"), "requests or cost"),
        (("create", "x", "--expires", "soon"), "--expires 'soon'"),
        (("create", "x", "--expires", "2001-01-01"), "in the past"),
        (("create", " "), "name"),
        (("show", "nope"), "no client key 'nope'"),
        (("revoke", "nope"), "no client key 'nope'"),
        (("update", "nope", "--rpm", "3"), "no client key 'nope'"),
        (("usage", "nope"), "no client key 'nope'"),
        (("usage", "--by", "week"), "day or hour"),
    ],
)
def test_mistakes_end_in_one_line_naming_the_fix(
    data_dir: Path, args: tuple[str, ...], says: str
) -> None:
    result = cli(*args)

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_update_without_a_change_and_a_name_two_keys_share_are_refused(data_dir: Path) -> None:
    first = listed_id(ok("create", "twin", "--json"))
    ok("create", "twin")

    assert "nothing to change" in cli("update", first).stderr
    ambiguous = cli("show", "twin")
    assert ambiguous.exit_code == 2 and "give the id" in ambiguous.stderr
    assert ok("show", first, "--json")  # the id always works


def test_an_unreachable_store_is_one_line(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_STORAGE_TYPE", "pgsql")
    monkeypatch.setenv("SERVER_STORAGE_URL", "postgresql://nobody@127.0.0.1:9/none")

    result = cli("list")

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "storage_url" in result.stderr.lower() or "127.0.0.1:9" in result.stderr


def test_expiry_accepts_dates_times_and_durations() -> None:
    now = datetime(2030, 5, 1, 12, tzinfo=UTC)
    assert keys_options.parse_expires("2031-01-01", now) == datetime(2031, 1, 1, tzinfo=UTC)
    assert keys_options.parse_expires("2031-01-01T08:00:00+02:00", now) == datetime(
        2031, 1, 1, 6, tzinfo=UTC
    )
    assert keys_options.parse_expires("12h", now) == now + timedelta(hours=12)
    assert keys_options.parse_expires("2w", now) == now + timedelta(weeks=2)
    assert keys_options.parse_expires("none", now) is None


@pytest.fixture
def postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:  # fmt: skip
    databases = storage_support.ServerDatabases(tmp_path)
    url = databases.fresh("postgres")
    for name in ("REDIS_URL",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SERVER_STORAGE_TYPE", "pgsql")
    monkeypatch.setenv("SERVER_STORAGE_URL", url)
    try:
        yield databases.settings_for("postgres", url)
    finally:
        storage_support.run_in_thread(databases.drop_all)


def test_keys_and_usage_on_postgresql(postgres: Settings) -> None:
    key_id = listed_id(ok("create", "pg", "--rpm", "7", "--monthly", "9", "--json"))
    add_usage(postgres, [usage(key_id, datetime.now(UTC), cost_units=3)])

    shown = json.loads(ok("show", key_id, "--json").stdout)
    ok("revoke", key_id)

    assert shown["limits"]["rate_limit_per_minute"] == 7
    assert shown["month"]["cost_units"] == 3 and shown["month"]["requests"] == 1
    assert json.loads(ok("list", "--json").stdout)[0]["state"] == "revoked"


def readme_key_commands() -> list[list[str]]:
    """The ``grok2api keys …`` commands of the README's examples, continuation lines joined
    and comments dropped, in the order they appear."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", readme, re.S | re.M):
        for line in re.split(r"(?<!\\)\n", block):
            line = line.replace("\\\n", " ").split("#", 1)[0].strip()
            if line.startswith("grok2api keys "):
                commands.append(line.split()[2:])
    return commands


def test_the_readme_key_examples_run_as_written(data_dir: Path) -> None:
    commands = readme_key_commands()
    assert [c[0] for c in commands][:3] == ["create", "list", "list"]
    for args in commands:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
    assert "revoked" in ok("list").output
