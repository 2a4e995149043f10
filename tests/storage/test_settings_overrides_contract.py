"""SettingsOverrideRepository behaviours on every backend."""

from __future__ import annotations

import pytest
from grok2api_storage import errors, protocols


async def test_sets_reads_and_replaces_overrides(store: protocols.Store) -> None:
    await store.settings_overrides.set_many(
        {"chat.stream": False, "retry.retry_status_codes": [401, 429], "app.api_key": ""},
        updated_by="admin",
    )
    await store.settings_overrides.set_many({"chat.stream": True}, updated_by="operator")
    overrides = await store.settings_overrides.get_all()
    assert {key: o.value for key, o in overrides.items()} == {
        "chat.stream": True,
        "retry.retry_status_codes": [401, 429],
        "app.api_key": "",
    }
    assert overrides["chat.stream"].updated_by == "operator"
    assert overrides["app.api_key"].updated_by == "admin"
    assert overrides["chat.stream"].updated_at >= overrides["app.api_key"].updated_at


async def test_keeps_nested_and_null_json_values(store: protocols.Store) -> None:
    value = {"a": [1, 2.5, None, {"b": "ü"}]}
    await store.settings_overrides.set_many({"x.nested": value, "x.null": None}, updated_by="t")
    overrides = await store.settings_overrides.get_all()
    assert overrides["x.nested"].value == value
    assert overrides["x.null"].value is None


async def test_deletes_overrides_and_counts_them(store: protocols.Store) -> None:
    await store.settings_overrides.set_many({"a.b": 1, "c.d": 2}, updated_by="t")
    assert await store.settings_overrides.delete(["a.b", "missing.key"]) == 1
    assert await store.settings_overrides.delete([]) == 0
    assert list(await store.settings_overrides.get_all()) == ["c.d"]


async def test_refuses_values_json_cannot_hold(store: protocols.Store) -> None:
    with pytest.raises(errors.InvalidRecordError, match=r"chat\.bad"):
        await store.settings_overrides.set_many({"chat.bad": object()}, updated_by="t")
    with pytest.raises(errors.InvalidRecordError):
        await store.settings_overrides.set_many({"": 1}, updated_by="t")
    assert await store.settings_overrides.get_all() == {}
