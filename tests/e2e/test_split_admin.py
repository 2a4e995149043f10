"""The admin target split as on Kubernetes: served under /admin like the single-process
mode, sessions shared by two replicas over Redis, refusing the default password."""

from __future__ import annotations

import os

import pytest
from curl_cffi import requests

from .conftest import Service, free_port, start_ready, wait_grpc

pytestmark = pytest.mark.e2e

PASSWORD = "split-admin-password"


@pytest.fixture
def admins(base_env, redis_db, tmp_path):
    pool_addr = f"127.0.0.1:{free_port()}"
    env = {**base_env, "REDIS_URL": redis_db, "TOKEN_POOL_ADDR": pool_addr,
           "SERVER_STORAGE_TYPE": "local", "GROK2API_APP__APP_KEY": PASSWORD}
    (tmp_path / "data").mkdir()
    services = [Service("token-pool", {**env, "SERVER_PORT": str(free_port())})]
    try:
        wait_grpc(pool_addr, services[0])
        yield start_ready("admin", env, 2, into=services)
    finally:
        for service in reversed(services):
            service.stop()


def test_the_admin_target_serves_under_admin_and_replicas_share_sessions(admins):
    first, second = admins
    root = requests.get(f"{first}/", allow_redirects=False, timeout=5)
    assert root.status_code == 307 and root.headers["location"] == "/admin/"
    assert requests.get(f"{first}/admin/api/pool", timeout=5).status_code == 401

    login = requests.post(f"{first}/admin/api/auth/login", json={"password": PASSWORD},
                          timeout=5)
    assert login.status_code == 204
    cookies = {c.name: c.value for c in login.cookies.jar}  # type: ignore[attr-defined]
    csrf = {"X-CSRF-Token": cookies["g2a_csrf"]}
    on_second = requests.get(f"{second}/admin/api/audit", cookies=cookies, timeout=5)
    assert on_second.status_code == 200
    assert on_second.json()["items"][0]["action"] == "auth.login"  # the durable store's log
    spec = requests.get(f"{second}/admin/api/openapi.json", cookies=cookies, timeout=5).json()
    assert spec["servers"] == [{"url": "/admin"}] and "/api/auth/login" in spec["paths"]

    out = requests.post(f"{second}/admin/api/auth/logout", cookies=cookies, headers=csrf,
                        timeout=5)
    assert out.status_code == 204
    assert requests.get(f"{first}/admin/api/audit", cookies=cookies, timeout=5).status_code == 401


def test_the_admin_target_refuses_the_default_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROK2API_", "SERVER_"))}
    env.update(DATA_DIR=str(tmp_path / "data"), LOG_FILE_ENABLED="false",
               SERVER_PORT=str(free_port()))
    service = Service("admin", env)
    service.proc.wait(timeout=30)
    output = service.stop()
    assert service.proc.returncode != 0
    lines = [line for line in output.splitlines() if "app.app_key" in line]
    assert len(lines) == 1 and "default admin password" in lines[0]
