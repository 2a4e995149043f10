"""Building admin apps and clients for the security tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
from admin import app as admin_app
from admin import security, sessions
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings
from starlette.routing import Mount

PASSWORD = "s3cret-admin"
BEARER = {"Authorization": f"Bearer {PASSWORD}"}


def build(
    tmp_path: Path,
    *,
    app_key: str = PASSWORD,
    session_store: sessions.SessionStore | None = None,
    policy: security.AuthPolicy = security.AuthPolicy(),
) -> FastAPI:
    settings = Settings.model_validate({"data_dir": tmp_path, "app": {"app_key": app_key}})
    return admin_app.create_app(
        settings=LiveSettings(settings),
        pool=None,  # type: ignore[arg-type]  # no route under test reaches the pool
        session_store=session_store,
        auth_policy=policy,
    )


def client(
    app: Any, *, address: str = "198.51.100.4", base_url: str = "http://admin.test"
) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 5000))
    return httpx2.AsyncClient(transport=transport, base_url=base_url)


async def login(http: httpx2.AsyncClient, password: str = PASSWORD) -> dict[str, str]:
    """Log in; the CSRF header the page's script would send."""
    response = await http.post("/api/auth/login", json={"password": password})
    assert response.status_code == 204, response.text
    return {security.CSRF_HEADER: http.cookies[security.CSRF_COOKIE]}


def every_route(app: FastAPI) -> Iterator[tuple[str, str, bool]]:
    """(method, path, is_mount) of every route of ``app.routes``, included routers
    flattened (this FastAPI resolves included routers lazily, so ``app.routes`` alone
    holds only their wrappers)."""
    for route in iter_route_contexts(app.routes):
        path = str(route.path)
        if isinstance(route.original_route, Mount):
            yield "*", path, True
            continue
        for method in sorted(route.methods or ()):
            yield method, path, False


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def api_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for method, path, mount in every_route(app):
        if is_api(path) and not mount:
            yield method, path
