"""The panel's pages: every page is served with its own script, and everything a page
loads comes from the admin package (no CDN, no outside fonts: the panel works offline)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from admin import app as admin_app
from admin import pages
from fastapi.testclient import TestClient
from grok2api_settings import Settings
from grok2api_settings.live import LiveSettings

PACKAGE = Path(pages.__file__).resolve().parent.parent
PAGE_NAMES = [name for name, _ in pages.NAV]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = admin_app.create_app(settings=LiveSettings(Settings(data_dir=tmp_path)), pool=None)  # type: ignore[arg-type]
    return TestClient(app)


def assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"#]+)"', html)


@pytest.mark.parametrize("name", [*PAGE_NAMES, "login"])
def test_each_page_is_served_with_its_script_and_stylesheet(client: TestClient, name: str) -> None:
    response = client.get(f"/{name}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    links = assets(response.text)
    assert f"/static/{name}.js" in links
    assert "/static/panel.css" in links


@pytest.mark.parametrize("name", [*PAGE_NAMES, "login"])
def test_every_asset_a_page_loads_is_served_from_the_package(
    client: TestClient, name: str
) -> None:
    html = client.get(f"/{name}").text

    for link in assets(html):
        assert link.startswith("/"), f"{name} loads {link} from outside the panel"
        if link.startswith("/static/"):
            assert client.get(link).status_code == 200, link


def test_the_navigation_marks_the_current_page(client: TestClient) -> None:
    html = client.get("/accounts").text

    assert re.search(r'href="/accounts" aria-current="page"', html)
    assert html.count('aria-current="page"') == 1


def test_the_root_sends_the_browser_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"


def test_no_static_file_reaches_for_another_host() -> None:
    outside = re.compile(r"""(?:url\(|src=|href=|import\s|fetch\()\s*["']?(?:https?:)?//""")
    for path in [*(PACKAGE / "static").rglob("*"), *(PACKAGE / "templates").rglob("*")]:
        if path.is_file() and path.suffix in {".js", ".css", ".html"}:
            assert not outside.search(path.read_text(errors="replace")), path


def test_every_vendored_file_is_listed_with_its_version_and_licence() -> None:
    vendor = PACKAGE / "static" / "vendor"
    listing = (vendor / "README.md").read_text()
    for path in vendor.rglob("*"):
        if path.is_file() and path.name not in {"README.md", "LICENSE"}:
            assert f"`{path.relative_to(vendor).as_posix()}`" in listing, path
            assert (path.parent / "LICENSE").is_file(), path
