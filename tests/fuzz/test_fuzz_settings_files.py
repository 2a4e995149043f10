"""The TOML settings loader (``grok2api_settings.loading``) on arbitrary files and
environments: it returns settings or raises ``SettingsError``, never anything else, and
never shows a secret's value in its message; ``rendering.toml_value`` round-trips."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from fuzz_profile import counted
from grok2api_settings import errors, loading, model, rendering
from hypothesis import given
from hypothesis import strategies as st

SECTIONS = list(model.section_models())
KEYS = sorted({key for sec in model.section_models().values() for key in sec.model_fields})
SECRET = "fuzz-secret-value-91"

scalars = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20),
    st.sampled_from(["info", "debug", "sqlite", "redis://x", "1s"]),
    st.just(SECRET),
)  # fmt: skip
values = scalars | st.lists(scalars, max_size=3)
tables = st.dictionaries(st.sampled_from(KEYS) | st.text(min_size=1, max_size=8), values,
                         max_size=5)  # fmt: skip
documents = st.dictionaries(
    st.sampled_from([*SECTIONS, "grok", "proxy", "features"]) | st.text(min_size=1, max_size=8),
    tables | values,
    max_size=4,
)


def toml_key(key: str) -> str:
    return json.dumps(key)  # a quoted key is valid for any string


def toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "inf" if value == math.inf else "-inf" if value == -math.inf else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_scalar(item) for item in value) + "]"
    return json.dumps(value)  # ASCII-escaped: a valid TOML basic string


def toml_document(document: dict[str, Any]) -> str:
    top = [f"{toml_key(k)} = {toml_scalar(v)}" for k, v in document.items()
           if not isinstance(v, dict)]  # fmt: skip
    lines = list(top)
    for name, table in document.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_key(name)}]")
            lines += [f"{toml_key(k)} = {toml_scalar(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def load_or_refuse(path: Path, environ: dict[str, str]) -> None:
    try:
        loaded = loading.load(config_file=path, environ=environ)
    except errors.SettingsError as exc:
        assert SECRET not in str(exc) or "secret" not in exc.key
        return
    assert isinstance(loaded.settings, model.Settings)


@given(document=documents)
def test_any_toml_file_loads_or_is_refused_with_a_settings_error(
    tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any]
) -> None:
    counted()
    path = tmp_path_factory.mktemp("settings") / "config.toml"
    path.write_text(toml_document(document), encoding="utf-8")
    load_or_refuse(path, {})


@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_file_bytes_load_or_are_refused(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    counted()
    path = tmp_path_factory.mktemp("settings") / "config.toml"
    path.write_bytes(raw)
    load_or_refuse(path, {})


env_names = st.one_of(
    st.builds(lambda s, k: f"GROK2API_{s.upper()}__{k.upper()}", st.sampled_from(SECTIONS),
              st.sampled_from(KEYS)),
    st.sampled_from([*loading.NAMED_ENV]),
    st.builds(lambda s: f"GROK2API_{s}", st.text(alphabet="ABCXYZ_", max_size=10)),
)  # fmt: skip
env_values = st.text(alphabet=st.characters(exclude_categories=["Cs"],
                                            exclude_characters="\x00"), max_size=30)


@given(environ=st.dictionaries(env_names, env_values | st.just(SECRET), max_size=4))
def test_any_environment_loads_or_is_refused(
    tmp_path_factory: pytest.TempPathFactory, environ: dict[str, str]
) -> None:
    counted()
    path = tmp_path_factory.mktemp("settings") / "absent.toml"
    load_or_refuse(path, environ)


@given(value=scalars | st.lists(scalars, max_size=3))
def test_rendered_values_read_back_as_toml(value: Any) -> None:
    counted()
    parsed = tomllib.loads(f"key = {rendering.toml_value(value)}\n")["key"]
    assert parsed == value


def test_a_config_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    """Regression: a Latin-1 config.toml escaped the loader as a UnicodeDecodeError."""
    path = tmp_path / "config.toml"
    path.write_bytes('[app]\napp_key = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(errors.SettingsError, match="not UTF-8") as refused:
        loading.load(config_file=path, environ={})
    assert refused.value.source == str(path)


def test_a_rendered_string_with_a_delete_character_is_valid_toml() -> None:
    """Regression: DEL (U+007F) was rendered raw, which TOML refuses."""
    value = "a\x7fb"
    assert tomllib.loads("key = " + rendering.toml_value(value))["key"] == value


def test_a_legacy_key_whose_new_section_is_not_a_table_is_refused_or_ignored(
    tmp_path: Path,
) -> None:
    """Regression: ``network = 5`` beside ``[grok] proxy_url`` crashed the migration with
    an AttributeError (it moved the key into the integer)."""
    path = tmp_path / "config.toml"
    path.write_text('network = 5\n[grok]\nproxy_url = "http://proxy.test:3128"\n')
    load_or_refuse(path, {})
