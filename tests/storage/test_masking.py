"""Masking of secrets in listings and messages."""

from __future__ import annotations

import pytest
from grok2api_storage import mask_secret, mask_url


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("sso=abcdefghijklmnopqrstuvwxyz", "sso=…wxyz"),
        ("abcdefghijklm", "abcd…jklm"),
        ("abcdefghijkl", "****"),
        ("abc", "****"),
        ("", "****"),
    ],
)
def test_keeps_only_the_ends_of_long_secrets(value: str, masked: str) -> None:
    assert mask_secret(value) == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("mysql+aiomysql://root:pa:ss@db:3306/x", "mysql+aiomysql://root:****@db:3306/x"),
        ("redis://:secretpw@cache:6379/0", "redis://:****@cache:6379/0"),
        ("postgresql://user@db/x", "postgresql://user@db/x"),
        ("sqlite+aiosqlite:///data/grok2api.db", "sqlite+aiosqlite:///data/grok2api.db"),
    ],
)
def test_masks_the_password_of_a_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
