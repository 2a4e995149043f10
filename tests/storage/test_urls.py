"""Storage settings to store locations: normalisation and refusals that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from grok2api_settings import Settings
from grok2api_storage import errors, urls


def settings(storage_type: str, storage_url: str = "", data_dir: str = "./data") -> Settings:
    return Settings.model_validate(
        {
            "data_dir": data_dir,
            "server": {"storage_type": storage_type, "storage_url": storage_url},
        }
    )


def test_local_uses_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    location = urls.resolve_location(settings("local", data_dir=str(tmp_path)))
    assert location.kind == "sql"
    assert location.url == f"sqlite+aiosqlite:///{tmp_path / 'grok2api.db'}"


@pytest.mark.parametrize(
    ("storage_type", "given", "expected"),
    [
        ("mysql", "mysql://u:p@db:3306/g", "mysql+aiomysql://u:p@db:3306/g?charset=utf8mb4"),
        (
            "mysql",
            "mysql+aiomysql://u@db/g?charset=latin1",
            "mysql+aiomysql://u@db/g?charset=latin1",
        ),
        ("mysql", "mariadb://u@db/g", "mysql+aiomysql://u@db/g?charset=utf8mb4"),
        ("pgsql", "postgres://u:p@db:5432/g", "postgresql+asyncpg://u:p@db:5432/g"),
        ("pgsql", "postgresql://u@db/g", "postgresql+asyncpg://u@db/g"),
        ("pgsql", "postgresql+asyncpg://u@db/g", "postgresql+asyncpg://u@db/g"),
        ("pgsql", "postgresql://u@db/g?sslmode=require", "postgresql+asyncpg://u@db/g?ssl=require"),
        ("local", "sqlite:////srv/x.db", "sqlite+aiosqlite:////srv/x.db"),
        ("redis", "redis://:pw@cache:6379/2", "redis://:pw@cache:6379/2"),
        ("redis", "rediss://cache", "rediss://cache"),
    ],
)
def test_normalises_the_seed_url_spellings(storage_type: str, given: str, expected: str) -> None:
    assert urls.resolve_location(settings(storage_type, given)).url == expected


@pytest.mark.parametrize(
    ("storage_type", "given", "message"),
    [
        ("mysql", "", "server.storage_url is empty"),
        ("pgsql", "   ", "server.storage_url is empty"),
        ("redis", "", "server.storage_url is empty"),
        ("pgsql", "mysql://u:hunter2secret@db/g", "does not match server.storage_type='pgsql'"),
        ("mysql", "not a url at all", "server.storage_url is not a valid URL"),
        ("mysql", "mysql://u:hunter2secret@/g", "server.storage_url has no host"),
        ("mysql", "mysql://u:hunter2secret@db:notaport/g", "server.storage_url"),
        ("redis", "http://u:hunter2secret@cache", "not a valid Redis URL"),
        ("redis", "redis://:hunter2secret@cache:99999999/0", "not a valid Redis URL"),
        ("local", "postgres://u:hunter2secret@db/g", "does not match"),
    ],
)
def test_refuses_unusable_settings_naming_the_setting_without_the_password(
    storage_type: str, given: str, message: str
) -> None:
    with pytest.raises(errors.StorageConfigError, match=message) as caught:
        urls.resolve_location(settings(storage_type, given))
    assert "hunter2secret" not in str(caught.value)


def test_the_location_repr_and_display_hide_the_password() -> None:
    location = urls.resolve_location(settings("pgsql", "postgres://u:hunter2secret@db/g"))
    assert "hunter2secret" not in repr(location)
    assert location.display == "postgresql+asyncpg://u:****@db/g"
