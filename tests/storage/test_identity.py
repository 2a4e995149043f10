"""Store identity: one fingerprint per store, whatever the spelling, never holding a password."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from grok2api_settings import Settings
from grok2api_storage import errors, identity


def settings(
    storage_type: str = "local", storage_url: str = "", data_dir: str = "./data"
) -> Settings:
    return Settings.model_validate(
        {"data_dir": data_dir, "server": {"storage_type": storage_type, "storage_url": storage_url}}
    )


def fingerprint(*args: str, **kwargs: str) -> str:
    return identity.identify(settings(*args, **kwargs)).fingerprint


def test_the_same_data_dir_gives_the_same_fingerprint(tmp_path: Path) -> None:
    assert fingerprint(data_dir=str(tmp_path)) == fingerprint(data_dir=str(tmp_path))


def test_another_data_dir_gives_another_fingerprint(tmp_path: Path) -> None:
    assert fingerprint(data_dir=str(tmp_path / "a")) != fingerprint(data_dir=str(tmp_path / "b"))


def test_a_relative_or_symlinked_data_dir_names_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    monkeypatch.chdir(tmp_path)
    absolute = identity.identify(settings(data_dir=str(tmp_path / "real")))
    assert identity.identify(settings(data_dir="real")) == absolute
    assert identity.identify(settings(data_dir="link")) == absolute
    assert absolute.location == f"sqlite:{(tmp_path / 'real' / 'grok2api.db').resolve()}"


@pytest.mark.parametrize(
    ("storage_type", "one", "other"),
    [
        (
            "pgsql",
            "postgresql://u:p@DB.example:5432/g",
            "postgres://u@db.example/g?sslmode=require",
        ),
        ("mysql", "mysql://u:p@db:3306/g", "mariadb+aiomysql://u:other@db/g?charset=latin1"),
        ("redis", "redis://:p@cache:6379/2", "redis://cache/2"),
        ("redis", "redis://cache", "redis://cache:6379/0"),
    ],
)
def test_spellings_of_one_server_url_give_one_fingerprint(
    storage_type: str, one: str, other: str
) -> None:
    assert fingerprint(storage_type, one) == fingerprint(storage_type, other)


@pytest.mark.parametrize(
    ("storage_type", "one", "other"),
    [
        ("pgsql", "postgresql://u@db/g", "postgresql://u@db/h"),
        ("pgsql", "postgresql://u@db/g", "postgresql://u@db2/g"),
        ("pgsql", "postgresql://u@db/g", "postgresql://u@db:5433/g"),
        ("pgsql", "postgresql://u@db/g", "postgresql://v@db/g"),
        ("mysql", "mysql://u@db/g", "mysql://u@db/h"),
        ("redis", "redis://cache/0", "redis://cache/1"),
    ],
)
def test_another_server_database_or_user_gives_another_fingerprint(
    storage_type: str, one: str, other: str
) -> None:
    assert fingerprint(storage_type, one) != fingerprint(storage_type, other)


def test_the_same_location_under_another_store_type_differs(tmp_path: Path) -> None:
    file_url = f"sqlite:///{tmp_path / 'grok2api.db'}"
    assert fingerprint("local", file_url) == fingerprint(data_dir=str(tmp_path))
    assert fingerprint("pgsql", "postgresql://u@db/g") != fingerprint("mysql", "mysql://u@db/g")


def test_the_password_never_changes_the_fingerprint_nor_appears() -> None:
    with_password = identity.identify(settings("pgsql", "postgresql://u:s3cret-pw@db/g"))
    other_password = identity.identify(settings("pgsql", "postgresql://u:other-pw@db/g"))
    assert with_password == other_password
    assert "s3cret-pw" not in with_password.location + with_password.fingerprint
    assert "s3cret-pw" not in repr(with_password)
    assert len(with_password.fingerprint) == 64


def test_unusable_storage_settings_are_refused_naming_the_setting() -> None:
    with pytest.raises(errors.StorageConfigError, match=r"server\.storage_url"):
        identity.identify(settings("pgsql", "ftp://x/y"))
