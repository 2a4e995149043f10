"""Egresses declared in a file (``egress.declared_file``): read as proxy lines, JSON or
YAML, added or updated by name when the pool starts, bad files refused with the setting
named and no secret repeated."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from grok2api_settings import Settings
from grok2api_storage import protocols, records
from token_pool import errors
from token_pool import main as pool_main
from token_pool.egress import declared

PROXY = "socks5h://alice:s3cret-pass@127.0.0.5:1080"
UA = "Mozilla/5.0 declared"


def test_proxy_lines_become_entries_named_after_host_and_port() -> None:
    entries = declared.parse(f"# office proxies\n{PROXY}\n\nhttp://127.0.0.6:8888\n")

    assert [(e.name, e.proxy) for e in entries] == [
        ("127.0.0.5:1080", PROXY),
        ("127.0.0.6:8888", "http://127.0.0.6:8888"),
    ]


def test_yaml_and_json_lists_give_the_same_entries() -> None:
    yaml_text = f"""
- name: tokyo
  proxy: {PROXY}
  tags: [jp, fast]
  max_inflight: 4
  clearance: abc123
- http://127.0.0.6:8888
- {{name: home}}
"""
    json_text = json.dumps([
        {"name": "tokyo", "proxy_url": PROXY, "tags": ["jp", "fast"], "max_inflight": 4,
         "clearance": "abc123"},
        "http://127.0.0.6:8888",
        {"name": "home"},
    ])  # fmt: skip

    from_yaml, from_json = declared.parse(yaml_text), declared.parse(json_text)

    assert from_yaml == from_json
    assert [(e.name, e.tags, e.max_inflight) for e in from_yaml] == [
        ("tokyo", ("jp", "fast"), 4), ("127.0.0.6:8888", (), 0), ("home", (), 0),
    ]  # fmt: skip
    assert from_yaml[2].proxy == ""  # direct


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"name": "x", "proxy": "ftp://u:s3cret-pass@h:1"}]', "entry 1 (proxy)"),
        ('[{"name": "x", "colour": "red"}]', "entry 1 (colour): Extra inputs are not permitted"),
        ('[{"name": "x", "max_inflight": -1}]', "entry 1 (max_inflight)"),
        ('{"name": "x"}', "expected a list of egresses"),
        ("- name: [unclosed\n  proxy: http://u:s3cret-pass@h:1", "neither proxy URL lines"),
        ("[42]", "entry 1: expected an object or a proxy URL"),
    ],
)
def test_a_bad_file_is_refused_naming_the_entry_without_repeating_secrets(
    text: str, expected: str
) -> None:
    with pytest.raises(declared.DeclaredError) as caught:
        declared.parse(text)

    assert expected in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_entries_keep_proxies_and_clearance_out_of_their_repr() -> None:
    (entry,) = declared.parse(json.dumps([{"proxy": PROXY, "clearance": "abc123"}]))

    assert "s3cret" not in repr(entry) and "abc123" not in repr(entry)


async def test_declared_egresses_are_added_then_updated_by_name(store: protocols.Store) -> None:
    first = declared.parse(json.dumps([
        {"name": "tokyo", "proxy": PROXY, "tags": ["jp"], "clearance": "abc123"},
        {"name": "home"},
    ]))  # fmt: skip
    assert await declared.apply(store.egresses, first, user_agent=UA) == (2, 0)

    second = declared.parse(json.dumps([
        {"name": "tokyo", "proxy": PROXY, "tags": ["jp", "fast"], "clearance": "abc123"},
        {"name": "home"},
    ]))  # fmt: skip
    assert await declared.apply(store.egresses, second, user_agent=UA) == (0, 1)
    assert await declared.apply(store.egresses, second, user_agent=UA) == (0, 0)

    tokyo = await store.egresses.find_by_name("tokyo")
    assert tokyo is not None and tokyo.clearance is not None
    assert (tokyo.proxy_url, tokyo.tags) == (PROXY, ("jp", "fast"))
    assert (tokyo.clearance.cookies, tokyo.clearance.user_agent, tokyo.clearance.source) == (
        "cf_clearance=abc123", UA, records.ClearanceSource.MANUAL,
    )  # fmt: skip
    assert {e.name for e in await store.egresses.list()} == {"tokyo", "home"}


async def test_egresses_the_file_does_not_name_are_left_alone(store: protocols.Store) -> None:
    await store.egresses.add(records.NewEgress(name="added-by-hand", proxy_url=PROXY))

    await declared.apply(store.egresses, declared.parse("http://127.0.0.6:8888"), user_agent=UA)

    assert {e.name for e in await store.egresses.list()} == {"added-by-hand", "127.0.0.6:8888"}


async def test_a_solver_clearance_is_kept_but_a_different_pasted_one_is_replaced(
    store: protocols.Store,
) -> None:
    solved = records.Clearance(
        cookies="cf_clearance=from-solver", user_agent="solver UA",
        obtained_at=datetime.now(UTC), source=records.ClearanceSource.SOLVER,
    )  # fmt: skip
    await store.egresses.add(records.NewEgress(name="a", clearance=solved))
    pasted = records.Clearance(
        cookies="cf_clearance=old", obtained_at=datetime.now(UTC),
        source=records.ClearanceSource.MANUAL,
    )  # fmt: skip
    await store.egresses.add(records.NewEgress(name="b", clearance=pasted))
    entries = declared.parse(json.dumps([
        {"name": "a", "clearance": "from-file"}, {"name": "b", "clearance": "from-file"},
    ]))  # fmt: skip

    await declared.apply(store.egresses, entries, user_agent=UA)

    a, b = await store.egresses.find_by_name("a"), await store.egresses.find_by_name("b")
    assert a is not None and a.clearance is not None and b is not None and b.clearance is not None
    assert a.clearance.cookies == "cf_clearance=from-solver"
    assert b.clearance.cookies == "cf_clearance=from-file"


async def test_a_changed_proxy_takes_the_files_clearance_with_it(store: protocols.Store) -> None:
    entry = {"name": "a", "proxy": "http://127.0.0.6:8888", "clearance": "abc123"}
    await declared.apply(store.egresses, declared.parse(json.dumps([entry])), user_agent=UA)

    moved = {**entry, "proxy": PROXY}
    await declared.apply(store.egresses, declared.parse(json.dumps([moved])), user_agent=UA)

    got = await store.egresses.find_by_name("a")
    assert got is not None and got.clearance is not None
    assert (got.proxy_url, got.clearance.cookies) == (PROXY, "cf_clearance=abc123")


def _settings(tmp_path: Path, declared_file: Path) -> Settings:
    return Settings.model_validate({
        "data_dir": str(tmp_path / "data"), "token": {"auto_refresh": False},
        "egress": {"declared_file": str(declared_file)},
    })  # fmt: skip


async def test_the_pool_upserts_the_declared_file_when_it_starts(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = tmp_path / "egresses.yaml"
    path.write_text(f"- name: tokyo\n  proxy: {PROXY}\n  tags: [jp]\n- name: home\n")

    async with pool_main.running(_settings(tmp_path, path), redis=None, grpc_address=None) as pool:
        names = {e.name for e in await pool.egress.repo.list()}
        routed = {e.name for e in pool.egress.registry.all()}

    assert names == routed == {"tokyo", "home"}


async def test_a_pool_with_a_bad_declared_file_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = tmp_path / "egresses.json"
    path.write_text('[{"name": "x", "proxy": "ftp://u:s3cret-pass@127.0.0.5:1"}]')

    with pytest.raises(errors.ConfigurationError) as caught:
        async with pool_main.running(_settings(tmp_path, path), redis=None, grpc_address=None):
            pass

    message = str(caught.value)
    assert message.startswith(f"egress.declared_file: {path}: entry 1 (proxy)")
    assert "s3cret" not in message


async def test_a_missing_declared_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = tmp_path / "nowhere.yaml"

    with pytest.raises(errors.ConfigurationError, match=r"cannot read .*nowhere\.yaml"):
        async with pool_main.running(_settings(tmp_path, path), redis=None, grpc_address=None):
            pass
