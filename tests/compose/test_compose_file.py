"""docker-compose.yml as a user runs it: `cp .env.example .env`, fill in the secrets, then
`docker compose config` (Debian's docker-compose 1.29, offline)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "GROK2API_SECURITY__ENCRYPTION_KEY": "a-test-encryption-key",
    "GROK2API_APP__APP_KEY": "a-test-admin-password",
    "POSTGRES_PASSWORD": "a-test-database-password",
}
SERVICES = ("token-pool", "gateway", "media-worker", "admin")


def compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing: scripts/container/install-tools.sh installs "
                    "it (.ci/run does)")
    return subprocess.run([binary, "--project-directory", str(project), "-f",
                           str(project / "docker-compose.yml"), *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def project_with(tmp_path: Path, values: dict[str, str]) -> Path:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={values[key]}" if key in values else line)
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_the_compose_file_is_valid_once_the_env_file_holds_the_secrets(tmp_path):
    done = compose(project_with(tmp_path, SECRETS), "config")
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)["services"]

    images = {config[name]["image"] for name in SERVICES}
    assert images == {"localhost/grok2api:latest"}
    assert [config[name]["command"] for name in SERVICES] == [[name] for name in SERVICES]
    for name in SERVICES:
        service = config[name]
        assert service["read_only"] is True
        assert service["environment"]["GROK2API_SECURITY__ENCRYPTION_KEY"] == (
            SECRETS["GROK2API_SECURITY__ENCRYPTION_KEY"])  # fmt: skip
        assert SECRETS["POSTGRES_PASSWORD"] in service["environment"]["SERVER_STORAGE_URL"]
        assert service["environment"]["TOKEN_POOL_ADDR"] == "token-pool:50051"
    # Gateways and media workers share the media store; the API is published on loopback.
    assert config["gateway"]["volumes"] == ["media:/data:rw"]
    assert config["media-worker"]["volumes"] == ["media:/data:rw"]
    assert config["gateway"]["ports"] == ["127.0.0.1:8000:8000/tcp"]
    for name in ("redis", "postgres"):
        assert config[name]["healthcheck"]["test"]
    assert config["token-pool"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_compose_file_refuses_to_start_without_a_database_password(tmp_path):
    done = compose(project_with(tmp_path, {**SECRETS, "POSTGRES_PASSWORD": ""}), "config", "-q")
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in done.stderr
