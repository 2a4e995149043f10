"""Masking of secrets for listings, logs and error messages."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: Values up to this length are masked completely: showing 8 of 12 characters would
#: leave too little hidden to call the value secret.
FULLY_MASKED_UP_TO = 12
MASK = "****"


def mask_secret(value: str) -> str:
    """``"abcd…wxyz"`` for long values, ``"****"`` for short or empty ones.

    Only the first and last four characters survive, which is enough for an operator to
    tell two credentials apart and far too little to use one.
    """
    if len(value) <= FULLY_MASKED_UP_TO:
        return MASK
    return f"{value[:4]}…{value[-4:]}"


def mask_url(url: str) -> str:
    """The URL with its password (if any) replaced by ``****``; otherwise unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # A URL too malformed to split may still hold a password: show nothing of it.
        return MASK
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostinfo}"))


def mask_proxy(url: str) -> str:
    """A proxy as listings show it: ``scheme://host:port`` (no user, password or path);
    ``direct`` for no proxy."""
    if not url:
        return "direct"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return MASK
    if not host:
        return MASK
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port else "")
