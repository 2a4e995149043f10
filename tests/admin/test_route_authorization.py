"""Every admin API route refuses a caller without a session or the bearer key.

The routes are read from the app itself (``admin_support.every_route``), so a router added to
``routers.PROTECTED`` later is walked without touching this file; ``PUBLIC_ROUTES`` is
the complete list of exceptions, and a route outside ``/api`` may only read (pages and
their assets), so nothing that changes state can live outside the check.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx2
import pytest
from admin import security
from admin_support import BEARER, api_routes, build, client, every_route, is_api, login
from fastapi import FastAPI

PUBLIC_ROUTES = {
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/session"),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# A route that streams (job progress over SSE) may never finish on its own: an answer that
# has not come within this time has passed the admin check, which answers at once.
ANSWER_WITHIN = 3.0


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def status_of(http: httpx2.AsyncClient, method: str, path: str, **kwargs: object) -> int:
    try:
        response = await asyncio.wait_for(
            http.request(method, concrete(path), **kwargs),  # type: ignore[arg-type]
            ANSWER_WITHIN,
        )
    except TimeoutError:
        return 0
    return response.status_code


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return build(tmp_path)


def protected(app: FastAPI) -> list[tuple[str, str]]:
    return [route for route in api_routes(app) if route not in PUBLIC_ROUTES]


def test_the_walk_sees_the_routers_and_public_routes_exist(app: FastAPI) -> None:
    routes = set(api_routes(app))
    assert PUBLIC_ROUTES <= routes
    assert {("GET", "/api/pool"), ("GET", "/api/audit"), ("GET", "/api/openapi.json")} <= routes


async def test_every_protected_route_answers_401_without_credentials(app: FastAPI) -> None:
    async with client(app) as http:
        for method, path in protected(app):
            response = await http.request(method, concrete(path))
            assert response.status_code == 401, (method, path)
            error = response.json()["error"]
            assert error["type"] == "authentication_error", (method, path)
            assert "Bearer" in error["message"] and "login" in error["message"]
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_every_protected_route_answers_401_to_a_wrong_bearer_or_stale_cookie(
    app: FastAPI,
) -> None:
    async with client(app) as http:
        http.cookies.set(security.SESSION_COOKIE, "forged-or-expired")
        for method, path in protected(app):
            wrong = await http.request(
                method, concrete(path), headers={"Authorization": "Bearer nope"}
            )
            assert wrong.status_code == 401, (method, path)
            assert (await http.request(method, concrete(path))).status_code == 401, (method, path)


async def test_every_protected_route_lets_the_bearer_key_through(app: FastAPI) -> None:
    async with client(app) as http:
        for method, path in protected(app):
            assert await status_of(http, method, path, headers=BEARER) not in (401, 403), (
                method, path,
            )


async def test_a_session_needs_the_csrf_header_on_every_change(app: FastAPI) -> None:
    async with client(app) as http:
        csrf = await login(http)
        for method, path in protected(app):
            without = await status_of(http, method, path)
            if method in UNSAFE:
                assert without == 403, (method, path)
                wrong = await status_of(
                    http, method, path, headers={security.CSRF_HEADER: "guess"}
                )
                assert wrong == 403, (method, path)
                assert await status_of(http, method, path, headers=csrf) not in (401, 403)
            else:
                assert without not in (401, 403), (method, path)


def test_nothing_outside_the_api_can_change_state(app: FastAPI) -> None:
    for method, path, mount in every_route(app):
        if mount:
            assert not is_api(path), path
        elif not is_api(path):
            assert method in {"GET", "HEAD"}, (method, path)
