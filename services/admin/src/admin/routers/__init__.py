"""The admin JSON API's routers, mounted under ``/api`` (``admin.app``).

A router listed in ``PROTECTED`` is behind the admin check without declaring anything
itself; ``PUBLIC`` is logging in and out and nothing else (the route-authorization test
in ``tests/admin`` walks every route to hold this)."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    accounts,
    audit,
    auth,
    batches,
    cache,
    dashboard,
    egresses,
    keys,
    openapi,
    pool,
    settings,
    usage,
)

PUBLIC: tuple[APIRouter, ...] = (auth.router,)
PROTECTED: tuple[APIRouter, ...] = (
    pool.router, audit.router, openapi.router, keys.router, usage.router,
    settings.router, cache.router, dashboard.router, accounts.router, batches.router,
    egresses.router,
)
