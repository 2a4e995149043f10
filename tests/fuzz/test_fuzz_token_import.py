"""The account import parser (``grok2api_poolclient.formats``, behind ``grok2api tokens
import`` and the admin's import) on arbitrary text: entries or ``FormatError``, nothing
else; an export in either format imports back to the same accounts."""

from __future__ import annotations

import json
from typing import Any

from fuzz_profile import counted
from grok2api_poolclient import formats
from grok2api_poolclient.accounts import AccountStatus, ExportedAccount
from grok2api_poolclient.leases import Tier
from hypothesis import given
from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)
pool_names = st.sampled_from([*formats.POOL_TIERS, "custom"]) | st.text(max_size=8)
entries = st.one_of(
    st.text(max_size=20),
    st.fixed_dictionaries({"token": st.text(max_size=20)},
                          optional={"status": json_values, "tags": json_values,
                                    "note": json_values, "quota": json_values}),
    json_values,
)  # fmt: skip
pool_files = st.dictionaries(pool_names, st.lists(entries, max_size=4) | json_values,
                             max_size=4).map(json.dumps)  # fmt: skip
texts = st.one_of(
    st.text(max_size=200),
    pool_files,
    st.lists(st.sampled_from(["sso=", "#", " ", "{", "\n", "abc", "\r\n"]) | st.text(max_size=6),
             max_size=20).map("".join),
)  # fmt: skip

# A credential as the lines format can carry one: no "#" (a comment), no leading "sso="
# (stripped), not starting with "{" (the text would be read as a pool file).
credentials = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=["Cs"],
                           exclude_characters="#"),
    min_size=1, max_size=24,
).filter(lambda c: not c.startswith(("sso=", "{")) and c == c.strip() and c.isprintable())
plain = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=10)
accounts = st.lists(
    st.builds(
        ExportedAccount,
        credential=credentials,
        tier=st.sampled_from(list(Tier)),
        status=st.sampled_from(list(AccountStatus)),
        enabled=st.booleans(),
        tags=st.lists(plain, max_size=3).map(tuple),
        note=plain,
    ),
    max_size=6,
    unique_by=lambda account: account.credential,
)


@given(text=texts)
def test_any_text_imports_or_is_a_format_error(text: str) -> None:
    counted()
    try:
        found = formats.parse(text)
    except formats.FormatError as exc:
        assert str(exc)
        return
    credentials_ = [entry.credential for entry in found]
    assert len(set(credentials_)) == len(credentials_) and all(credentials_)


def expected(account: ExportedAccount) -> dict[str, Any]:
    return {"credential": account.credential, "tier": account.tier,
            "enabled": False if not account.enabled or account.status == "disabled" else None,
            "tags": account.tags, "note": account.note}  # fmt: skip


def imported(entry: formats.ImportEntry) -> dict[str, Any]:
    return {"credential": entry.credential, "tier": entry.tier, "enabled": entry.enabled,
            "tags": entry.tags, "note": entry.note}  # fmt: skip


@given(exported=accounts)
def test_a_pool_file_export_imports_back(exported: list[ExportedAccount]) -> None:
    counted()
    text = json.dumps(formats.to_pool_file(exported))
    got = sorted((imported(entry) for entry in formats.parse(text)), key=str)
    assert got == sorted((expected(account) for account in exported), key=str)


@given(exported=accounts)
def test_a_lines_export_imports_back(exported: list[ExportedAccount]) -> None:
    counted()
    found = formats.parse(formats.to_lines(exported))
    assert [entry.credential for entry in found] == [item.credential for item in exported]
