"""Logging in and out: cookies, CSRF, lockout, the default-password flag, the error shape,
and sessions shared by two admin instances over Redis."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from admin import security, sessions
from admin_support import BEARER, PASSWORD, build, client, login
from grok2api_cli import http_app

LOCKOUT = security.AuthPolicy(max_failures=3, failure_window_seconds=60, lockout_seconds=120)


def set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        header.split("=", 1)[0]: header.lower()
        for header in response.headers.get_list("set-cookie")
    }


async def test_login_sets_an_httponly_strict_session_and_a_readable_csrf_cookie(
    tmp_path: Path,
) -> None:
    async with client(build(tmp_path)) as http:
        response = await http.post("/api/auth/login", json={"password": PASSWORD})
    assert response.status_code == 204
    cookies = set_cookies(response)
    session, csrf = cookies[security.SESSION_COOKIE], cookies[security.CSRF_COOKIE]
    assert "httponly" in session and "samesite=strict" in session and "max-age=43200" in session
    assert "httponly" not in csrf and "samesite=strict" in csrf
    assert "secure" not in session  # plain HTTP: a laptop setup must still log in


async def test_cookies_are_secure_over_tls_and_scoped_to_the_admin_prefix(
    tmp_path: Path,
) -> None:
    app = http_app.compose(apps={"/admin": build(tmp_path)}, checks={}, metrics_enabled=False)
    async with client(app, base_url="https://panel.example") as http:
        response = await http.post("/admin/api/auth/login", json={"password": PASSWORD})
        assert response.status_code == 204
        for header in set_cookies(response).values():
            assert "; secure" in header and "path=/admin" in header
        state = (await http.get("/admin/api/auth/session")).json()
    assert state == {"authenticated": True, "default_password": False}


async def test_the_session_reports_login_state_and_the_default_password(tmp_path: Path) -> None:
    async with client(build(tmp_path, app_key="grok2api")) as http:
        before = (await http.get("/api/auth/session")).json()
        await login(http, "grok2api")
        after = (await http.get("/api/auth/session")).json()
    assert before == {"authenticated": False, "default_password": True}
    assert after == {"authenticated": True, "default_password": True}


async def test_a_logged_in_browser_reads_the_api_and_changes_need_the_csrf_header(
    tmp_path: Path,
) -> None:
    async with client(build(tmp_path)) as http:
        csrf = await login(http)
        assert (await http.get("/api/audit")).status_code == 200
        refused = await http.post("/api/auth/logout")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
        assert (await http.get("/api/audit")).status_code == 200  # still logged in
        assert (await http.post("/api/auth/logout", headers=csrf)).status_code == 204


async def test_logout_ends_the_session_and_clears_the_cookies(tmp_path: Path) -> None:
    async with client(build(tmp_path)) as http:
        csrf = await login(http)
        session_id = http.cookies[security.SESSION_COOKIE]
        response = await http.post("/api/auth/logout", headers=csrf)
        assert response.status_code == 204
        assert all("max-age=0" in c for c in set_cookies(response).values())
        http.cookies.set(security.SESSION_COOKIE, session_id)  # a copied cookie is dead too
        assert (await http.get("/api/audit")).status_code == 401
        assert (await http.get("/api/auth/session")).json()["authenticated"] is False


async def test_a_wrong_password_is_401_in_the_error_shape(tmp_path: Path) -> None:
    async with client(build(tmp_path)) as http:
        response = await http.post("/api/auth/login", json={"password": "nope"})
        malformed = await http.post("/api/auth/login", json={})
    assert response.status_code == 401
    assert response.json() == {
        "error": {"message": "wrong password", "type": "authentication_error",
                  "code": "unauthorized"}
    }
    assert malformed.status_code == 400
    assert malformed.json()["error"]["type"] == "invalid_request_error"


async def test_repeated_wrong_passwords_lock_the_address_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = build(tmp_path, policy=LOCKOUT)
    caplog.set_level(logging.INFO)
    async with client(app, address="203.0.113.9") as attacker, client(app) as admin:
        for _ in range(2):
            response = await attacker.post("/api/auth/login", json={"password": "guess-1"})
            assert response.status_code == 401
        locked = await attacker.post("/api/auth/login", json={"password": "guess-1"})
        assert locked.status_code == 429
        assert locked.headers["retry-after"] == "120"
        assert locked.json()["error"]["code"] == "login_locked"
        right = await attacker.post("/api/auth/login", json={"password": PASSWORD})
        assert right.status_code == 429 and 0 < int(right.headers["retry-after"]) <= 120
        await login(admin)  # another address is not affected
        audit = (await admin.get("/api/audit", headers=BEARER)).json()["items"]
    assert [e["action"] for e in audit] == ["auth.login", "auth.lockout"]
    assert audit[1]["target"] == "203.0.113.9"
    assert "admin_login_locked client=203.0.113.9" in caplog.text
    assert "guess-1" not in caplog.text


async def test_a_right_password_starts_the_failure_count_over(tmp_path: Path) -> None:
    async with client(build(tmp_path, policy=LOCKOUT)) as http:
        for _ in range(2):
            await http.post("/api/auth/login", json={"password": "nope"})
        await login(http)
        for _ in range(2):
            assert (await http.post("/api/auth/login", json={"password": "x"})).status_code == 401


async def test_two_instances_share_sessions_and_lockouts_over_redis(
    tmp_path: Path, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    def replica() -> object:
        store = sessions.RedisSessionStore(redis_client, prefix=redis_prefix)
        return build(tmp_path, session_store=store, policy=LOCKOUT)

    first, second = replica(), replica()
    async with client(first) as on_first, client(second) as on_second:
        csrf = await login(on_first)
        on_second.cookies.update(on_first.cookies)
        assert (await on_second.get("/api/audit")).status_code == 200
        assert (await on_second.post("/api/auth/logout", headers=csrf)).status_code == 204
        assert (await on_first.get("/api/audit")).status_code == 401

        await on_first.post("/api/auth/login", json={"password": "nope"})
        await on_second.post("/api/auth/login", json={"password": "nope"})
        third = await on_first.post("/api/auth/login", json={"password": "nope"})
        assert third.status_code == 429
        right = await on_second.post("/api/auth/login", json={"password": PASSWORD})
        assert right.status_code == 429


async def test_changing_the_password_ends_every_session(tmp_path: Path) -> None:
    app = build(tmp_path)
    async with client(app) as http:
        await login(http)
        assert (await http.get("/api/audit")).status_code == 200
        app.state.settings.apply({"app.app_key": "a-new-password"})
        assert (await http.get("/api/audit")).status_code == 401
        assert (await http.get("/api/auth/session")).json()["authenticated"] is False
        await login(http, "a-new-password")
        assert (await http.get("/api/audit")).status_code == 200
