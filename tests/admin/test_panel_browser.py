"""The admin panel in a real browser: Debian's Chromium, headless, driven by Playwright,
against a single-process ``grok2api run`` pointed at the upstream simulator.

The tests of the main deployment run in file order and share one browser context, as one
operator's session would: log in, import, refresh, change a setting, create, edit and revoke
a key, read its usage, log out.
The lockout test has a deployment of its own, since a lockout holds for the client address
every test shares. Every page is photographed into ``tests/artifacts/admin/``; with
``UPDATE_README_IMAGES=1`` (``make readme-images``) the accounts page and the dashboard are
copied to ``docs/images/`` for the README.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import csv
import io
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import openai
import pytest
from e2e.conftest import ROOT, Service, free_port, process_env, wait_http
from grok2api_settings import Settings
from grok2api_storage import factory, protocols, records
from grok_sim.solver import SOLVER_USER_AGENT
from grok_sim.testing import SimHandle, SimulatorProcess, SolverHandle, running_solver
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1] / "egress"))
from egress_proxies import Credentials, running_tinyproxy

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
expect.set_options(timeout=20_000)  # a wait for page state, not a measure of speed

ARTIFACTS = ROOT / "tests" / "artifacts" / "admin"
README_IMAGES = ROOT / "docs" / "images"
PASSWORD = "grok2api"  # the default: the banner must insist on changing it
ENV_API_KEY = "env-api-key"
CREDENTIALS = [f"panel-account-{n:02d}" for n in range(12)]
CHROMIUM = "/usr/bin/chromium"
USAGE_MODEL = "usage-test-model"  # records the test writes itself, told apart from real ones
T = TypeVar("T")
LOADED = re.compile("page=")  # the accounts table's data-loaded: the query it last showed
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


class Deployment:
    def __init__(self, base: str, service: Service, data_dir: Path):
        self.base = base
        self.admin = f"{base}/admin"
        self.service = service
        self.data_dir = data_dir

    def on_store(self, work: Callable[[protocols.Store], Awaitable[T]]) -> T:
        """Run ``work`` on the deployment's own store (SQLite in its DATA_DIR), on a loop
        of its own in a worker thread (Playwright's sync API holds this thread's loop)."""

        async def run() -> T:
            settings = Settings.model_validate({"data_dir": str(self.data_dir)})
            async with await factory.open_store(settings) as store:
                return await work(store)

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with SimulatorProcess() as handle:
        yield handle


def start(tmp: Path, sim: SimHandle, **extra: str) -> Deployment:
    port = free_port()
    env = {
        **process_env(tmp, sim),
        "SERVER_PORT": str(port),
        "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}",
        "GROK2API_APP__APP_URL": f"http://127.0.0.1:{port}",
        **extra,
    }
    service = Service("all", env)
    wait_http(f"http://127.0.0.1:{port}/readyz", service)
    return Deployment(f"http://127.0.0.1:{port}", service, Path(env["DATA_DIR"]))


@pytest.fixture(scope="module")
def solver() -> Iterator[SolverHandle]:
    """The FlareSolverr-compatible solver the deployment refreshes clearances with."""
    with running_solver() as handle:
        yield handle


@pytest.fixture(scope="module")
def deployment(
    sim: SimHandle, solver: SolverHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    for credential in CREDENTIALS:
        sim.add_account(credential, tier="basic")
    running = start(
        tmp_path_factory.mktemp("panel"), sim, GROK2API_APP__API_KEY=ENV_API_KEY,
        GROK2API_EGRESS__SOLVER_URL=solver.base_url,
    )  # fmt: skip
    try:
        yield running
    finally:
        output = running.service.stop()
        assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"the panel's browser tests need Debian's Chromium at {CHROMIUM}: "
                    "apt-get install -y chromium (never `playwright install`)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def fresh_context(browser: Browser, **options: Any) -> Iterator[BrowserContext]:
    """A browser context of its own (no cookies), as a new browser window would be."""
    opened = browser.new_context(viewport={"width": 1366, "height": 900}, **options)
    opened.set_default_timeout(20_000)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def context(browser: Browser, deployment: Deployment) -> Iterator[BrowserContext]:
    """The operator's logged-in browser, shared by the module's tests in order."""
    with fresh_context(browser) as opened:
        page = opened.new_page()
        log_in(page, deployment)
        expect(page).to_have_url(f"{deployment.admin}/dashboard")
        page.close()
        yield opened


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        opened.close()
    assert not errors, errors


WIDER_THAN_THE_SCREEN = """
[...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
                 && !e.parentElement.closest(".table-wrap, .topbar nav"))
  .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + e.className)
"""
"""Elements reaching past the right edge, outside the parts that scroll sideways (tables and
the navigation bar)."""


def snap(page: Page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def for_readme(shot: Path, name: str) -> None:
    """Copy a screenshot over the README's picture, when asked (``make readme-images``):
    an ordinary test run leaves the committed pictures alone."""
    if os.environ.get("UPDATE_README_IMAGES") == "1":
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_IMAGES / name)


def log_in(page: Page, deployment: Deployment, password: str = PASSWORD) -> None:
    page.goto(f"{deployment.admin}/login")
    page.get_by_label("Admin password").fill(password)
    page.get_by_role("button", name="Log in").click()


def openai_client(deployment: Deployment, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{deployment.base}/v1", api_key=key, max_retries=0)


def chat(client: openai.OpenAI, *, stream: bool = False) -> str:
    messages: list[Any] = [{"role": "user", "content": "hello panel"}]
    if stream:  # streamed turns are what time-to-first-token is measured on
        chunks = client.chat.completions.create(model="grok-4", messages=messages, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reply = client.chat.completions.create(model="grok-4", messages=messages)
    return reply.choices[0].message.content or ""


def test_a_page_opened_without_a_session_sends_the_browser_to_the_login_page(
    browser: Browser, deployment: Deployment
) -> None:
    with fresh_context(browser) as anonymous:
        page = anonymous.new_page()
        page.goto(f"{deployment.admin}/accounts")

        expect(page).to_have_url(re.compile(r"/admin/login\?next="))
        expect(page.get_by_label("Admin password")).to_be_visible()
        snap(page, "login")


def test_logs_in_and_is_told_to_change_the_default_password(
    browser: Browser, deployment: Deployment
) -> None:
    with fresh_context(browser) as window:
        page = window.new_page()
        page.goto(f"{deployment.admin}/settings")
        expect(page).to_have_url(re.compile(r"/admin/login\?next="))

        page.get_by_label("Admin password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

        expect(page).to_have_url(f"{deployment.admin}/settings")  # back where it was going
        expect(page.locator("#default-password-banner")).to_be_visible()


def test_imported_accounts_appear_in_the_table(page: Page, deployment: Deployment) -> None:
    page.goto(f"{deployment.admin}/accounts")
    expect(page.locator("#total")).to_have_text("0 accounts")

    page.get_by_role("button", name="Import").click()
    page.get_by_label("File", exact=True).set_input_files(files=[{
        "name": "accounts.txt", "mimeType": "text/plain",
        "buffer": "\n".join(CREDENTIALS).encode(),
    }])  # fmt: skip
    expect(page.get_by_label(re.compile("One credential per line"))).to_have_value(
        "\n".join(CREDENTIALS)
    )
    page.get_by_label("Tier of entries that name none").select_option("basic")
    page.get_by_label(re.compile("Tags for every entry")).fill("imported")
    page.locator("#import-submit").click()

    expect(page.locator("#import-status")).to_have_attribute("data-state", "finished")
    expect(page.locator("#import-status")).to_contain_text(str(len(CREDENTIALS)))
    page.locator("#import-dialog").get_by_role("button", name="Close").click()
    expect(page.locator("#total")).to_have_text(f"{len(CREDENTIALS)} accounts")
    expect(page.locator("#accounts-body tr")).to_have_count(len(CREDENTIALS))
    expect(page.locator("#accounts-body tr").first).to_contain_text("imported")


def test_the_table_sorts_and_pages_on_the_server(page: Page, deployment: Deployment) -> None:
    page.goto(f"{deployment.admin}/accounts")
    rows = page.locator("#accounts-body tr[data-id]")
    expect(rows).to_have_count(len(CREDENTIALS))
    ascending = [row.get_attribute("data-id") for row in rows.all()]
    assert ascending == sorted(ascending)

    header = page.locator("th[data-sort='id']")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_have_attribute("data-id", ascending[-1])

    filters = page.locator("#filters")
    filters.get_by_label("Per page").select_option("25")
    filters.get_by_label("Tier").select_option("super")
    expect(page.locator("#accounts-body")).to_contain_text("No accounts match.")
    shown = page.locator("#accounts-table")
    expect(shown).to_have_attribute("data-loaded", re.compile(r"page_size=25.*tier=super"))


def test_an_account_is_added_edited_found_and_deleted(page: Page, deployment: Deployment) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the delete confirmation
    page.goto(f"{deployment.admin}/accounts")
    expect(page.locator("#accounts-table")).to_have_attribute("data-loaded", LOADED)

    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_label(re.compile("^Credential")).fill("panel-extra-account")
    page.locator("#add-note").fill("added by hand")
    page.locator("#add-form").get_by_role("button", name="Add").click()
    expect(page.locator("#add-dialog")).to_be_hidden()  # a modal dialog makes the page inert
    page.get_by_label("Search id or note").fill("by hand")
    row = page.locator("#accounts-body tr[data-id]")
    expect(row).to_have_count(1)

    row.get_by_role("button", name="Edit").click()
    page.locator("#edit-note").fill("edited by hand")
    page.locator("#edit-tags").fill("vip")
    page.locator("#edit-form").get_by_role("button", name="Save").click()
    expect(page.locator("#edit-dialog")).to_be_hidden()
    expect(row).to_contain_text("edited by hand")
    expect(row).to_contain_text("vip")

    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#accounts-body")).to_contain_text("No accounts match.")


def test_a_batch_refresh_shows_its_progress_until_it_finishes(
    page: Page, deployment: Deployment
) -> None:
    page.goto(f"{deployment.admin}/accounts")
    expect(page.locator("#accounts-body tr")).to_have_count(len(CREDENTIALS))

    page.get_by_label("Select every account on this page").check()
    expect(page.locator("#selected-count")).to_have_text(str(len(CREDENTIALS)))
    page.get_by_label("Batch action").select_option("refresh_usage")
    page.locator("#batch-selected").click()

    expect(page.locator("#batch")).to_be_visible()
    expect(page.locator("#batch-state")).to_have_attribute("data-state", "finished")
    expect(page.locator("#batch-count")).to_have_text(f"{len(CREDENTIALS)} / {len(CREDENTIALS)}")
    progress = page.locator("#batch-progress")
    assert progress.evaluate("bar => bar.value === bar.max && bar.max > 0")
    # Refreshed accounts show the quota the simulator reported.
    expect(page.locator("#accounts-body tr").first.locator(".quota").first).to_be_visible()
    for_readme(snap(page, "accounts"), "admin-accounts.png")


def test_a_setting_changed_in_the_panel_is_used_by_the_gateway(
    page: Page, deployment: Deployment
) -> None:
    assert chat(openai_client(deployment, ENV_API_KEY))
    page.goto(f"{deployment.admin}/settings")
    timeout = page.locator('[data-key="network.timeout"] input')
    expect(timeout).to_be_visible()
    timeout.fill("-1")  # refused by the settings model: nothing is stored
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#settings-error")).to_contain_text("network.timeout")
    expect(page.locator('tr[data-key="network.timeout"]')).to_have_class(re.compile("invalid"))
    page.reload()
    field = page.locator('[data-key="app.api_key"] input')
    expect(field).to_be_visible()
    expect(page.locator('tr[data-key="network.timeout"] [data-source]')).not_to_have_attribute(
        "data-source", "override"
    )

    field.fill("panel-api-key")
    expect(page.locator("#settings-diff")).to_contain_text("app.api_key")
    snap(page, "settings", full_page=False)
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator('tr[data-key="app.api_key"] [data-source]')).to_have_attribute(
        "data-source", "override"
    )
    assert chat(openai_client(deployment, "panel-api-key"))
    assert chat(openai_client(deployment, "panel-api-key"), stream=True)
    with pytest.raises(openai.AuthenticationError):
        chat(openai_client(deployment, ENV_API_KEY))


def key_row(page: Page, name: str) -> Any:
    return page.locator(f"#keys-body tr[data-name='{name}']")


def test_a_client_key_created_with_limits_shows_its_secret_once_and_calls_the_gateway(
    page: Page, context: BrowserContext, deployment: Deployment
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=deployment.base)
    page.goto(f"{deployment.admin}/keys")
    expect(page.locator("#keys-table")).to_have_attribute("data-loaded", "0")

    page.get_by_role("button", name="Create key").click()
    dialog = page.locator("#key-dialog")
    dialog.get_by_label("Name").fill("browser test")
    dialog.get_by_label(re.compile("^Allowed models")).fill("grok-4, grok-3")
    dialog.get_by_label(re.compile("^Requests per minute")).fill("30")
    dialog.get_by_label(re.compile("^Requests at once")).fill("3")
    dialog.get_by_label(re.compile("^Quota per UTC day")).fill("100")
    dialog.get_by_label(re.compile("^Quota per UTC month")).fill("2000")
    dialog.get_by_label(re.compile("^Expires")).fill("2099-01-01")
    dialog.get_by_role("button", name="Create").click()

    secret = page.locator("#key-secret-value")
    expect(secret).to_have_text(re.compile(r"^g2a-\S+$"))
    expect(page.locator("#secret-dialog")).to_contain_text("shown once")
    key = secret.inner_text().strip()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#toasts")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key
    snap(page, "keys-secret", full_page=False)
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#secret-dialog")).to_be_hidden()
    expect(secret).to_be_empty()  # closing the dialog forgets it

    row = key_row(page, "browser test")
    expect(row).to_have_attribute("data-state", "active")
    for shown in ("30/min", "3 at once", "100 requests/day", "2,000 requests/month",
                  "grok-4, grok-3", key[:8]):  # fmt: skip
        expect(row).to_contain_text(shown)
    assert chat(openai_client(deployment, key))
    page.reload()
    expect(key_row(page, "browser test")).to_be_visible()
    assert key not in page.content()  # shown once, never again
    snap(page, "keys")


def test_a_key_limit_is_edited_and_cleared_in_the_panel(page: Page, deployment: Deployment) -> None:
    page.goto(f"{deployment.admin}/keys")
    row = key_row(page, "browser test")
    row.get_by_role("button", name="Edit").click()
    dialog = page.locator("#key-dialog")
    expect(dialog.get_by_label(re.compile("^Requests per minute"))).to_have_value("30")
    expect(dialog.get_by_label(re.compile("^Expires"))).to_have_value("2099-01-01")

    dialog.get_by_label(re.compile("^Requests per minute")).fill("45")
    dialog.get_by_label(re.compile("^Allowed models")).fill("")  # every model
    dialog.get_by_label(re.compile("^Quotas count")).select_option("cost")
    dialog.get_by_role("button", name="Save").click()

    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("45/min")
    expect(row).to_contain_text("100 cost units/day")
    expect(row.locator("td").nth(4)).to_have_text("all")

    row.get_by_role("button", name="Edit").click()  # a bad value is shown, nothing is saved
    dialog.get_by_label(re.compile("^Name")).fill(" ")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#key-error")).to_contain_text("name")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_contain_text("45/min")


def test_the_usage_view_charts_the_records_of_a_key(page: Page, deployment: Deployment) -> None:
    async def seed(store: protocols.Store) -> str:
        key = next(k for k in await store.client_keys.list() if k.name == "browser test")
        now = datetime.now(UTC)

        def entry(at: datetime, status: int = 200) -> records.UsageRecord:
            return records.UsageRecord(
                id=uuid.uuid4().hex, timestamp=at, key_id=key.id, model=USAGE_MODEL,
                endpoint="/v1/chat/completions", status=status, prompt_tokens=120,
                completion_tokens=80, cost_units=2, latency_ms=250.0, request_id="seeded",
            )  # fmt: skip

        await store.usage.add_many([
            entry(now), entry(now), entry(now, status=429),
            entry(now - timedelta(days=1)), entry(now - timedelta(days=2)),
        ])  # fmt: skip
        return key.id

    key_id = deployment.on_store(seed)
    page.goto(f"{deployment.admin}/keys")
    key_row(page, "browser test").get_by_role("link", name="Usage").click()

    expect(page).to_have_url(re.compile(f"key_id={key_id}"))
    expect(page.locator("#usage-filters")).to_have_attribute("data-loaded", re.compile(key_id))
    expect(page.locator("#usage-key-title")).to_contain_text("browser test")
    model = page.locator(f"#usage-models-body tr[data-name='{USAGE_MODEL}']")
    expect(model.locator("td").nth(1)).to_have_text("5")  # requests
    expect(model.locator("td").nth(2)).to_have_text("1")  # errors

    page.get_by_label("Model", exact=True).fill(USAGE_MODEL)
    expect(page.locator("#usage-filters")).to_have_attribute(
        "data-loaded", re.compile(f"model={USAGE_MODEL}")
    )
    for chart in ("#usage-requests-chart", "#usage-tokens-chart"):
        expect(page.locator(f"{chart} .uplot")).to_be_visible()
    expect(page.locator("#usage-requests-chart")).to_have_attribute("data-total", "5")
    expect(page.locator("#usage-total-prompt")).to_have_text("600")
    snap(page, "usage")

    link = page.get_by_role("link", name="Download CSV")
    href = link.get_attribute("href") or ""
    assert f"key_id={key_id}" in href and f"model={USAGE_MODEL}" in href
    exported = page.request.get(f"{deployment.base}{href}")
    assert exported.ok
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text())))
    assert len(rows) == 5 and {row["key_name"] for row in rows} == {"browser test"}

    page.locator("#usage-key").select_option("")  # every key
    expect(page.locator("#usage-keys-body tr[data-name='browser test']")).to_be_visible()


def test_a_revoked_key_is_refused_by_the_gateway(page: Page, deployment: Deployment) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the revoke confirmation
    page.goto(f"{deployment.admin}/keys")
    page.get_by_role("button", name="Create key").click()
    page.locator("#key-dialog").get_by_label("Name").fill("short lived")
    page.locator("#key-dialog").get_by_role("button", name="Create").click()
    secret = page.locator("#key-secret-value")
    expect(secret).to_have_text(re.compile(r"^g2a-"))
    key = secret.inner_text().strip()
    page.get_by_role("button", name="Done").click()
    assert chat(openai_client(deployment, key))

    row = key_row(page, "short lived")
    row.get_by_role("button", name="Revoke").click()

    expect(row).to_have_attribute("data-state", "revoked")
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    refused_soon(openai_client(deployment, key))  # gateways re-read keys within a second


def refused_soon(client: openai.OpenAI) -> None:
    """Wait (as ``expect`` does, up to its timeout) for the gateway to refuse the key."""
    deadline = time.monotonic() + 20
    while True:
        try:
            chat(client)
        except openai.AuthenticationError:
            return
        assert time.monotonic() < deadline, "the gateway still accepts the revoked key"
        time.sleep(0.2)


def test_the_cache_audit_and_dashboard_pages_show_their_data(
    page: Page, deployment: Deployment
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the clear confirmation
    page.goto(f"{deployment.admin}/cache")
    expect(page.locator("#cache-table")).to_have_attribute("data-loaded", "true")
    snap(page, "cache")
    page.get_by_role("button", name="Clear the cache").click()
    expect(page.locator("#toasts")).to_contain_text("Cache cleared")

    page.goto(f"{deployment.admin}/audit")
    for action in ("settings.change", "client_key.create", "account.import", "cache.clear"):
        expect(page.locator("#audit-body")).to_contain_text(action)
    snap(page, "audit")

    page.goto(f"{deployment.admin}/dashboard")
    expect(page.locator("#stat-accounts")).to_have_text(str(len(CREDENTIALS)))
    expect(page.locator("#chart-quota .uplot")).to_be_visible()
    client = openai_client(deployment, "panel-api-key")
    for n in range(6):  # traffic for the charts to draw, after the page's first figures
        assert chat(client, stream=n % 2 == 0)
    # A rate is a difference between two scrapes: wait for one taken after the traffic.
    expect(page.locator("#stat-rate")).not_to_have_text(re.compile(r"^(0|—)$"), timeout=30_000)
    for_readme(snap(page, "dashboard"), "admin-dashboard.png")


def test_an_egress_is_added_refreshed_tested_and_removed_in_the_panel(
    page: Page, deployment: Deployment, sim: SimHandle, solver: SolverHandle, tmp_path: Path,
    browser: Browser, context: BrowserContext,
) -> None:  # fmt: skip
    page.on("dialog", lambda dialog: dialog.accept())  # the remove confirmation
    secret = Credentials(username="panel-proxy-user", password="panel-pr0xy-secret")
    exit_address = "127.0.0.33"
    with running_tinyproxy(
        exit_address=exit_address, workdir=tmp_path / "proxy", credentials=secret
    ) as proxy:
        page.goto(f"{deployment.admin}/egresses")
        expect(page.locator("#egresses-table")).to_have_attribute("data-loaded", re.compile(r"\d"))
        # added disabled, so the pool's schedule leaves its clearance to the button below
        page.get_by_role("button", name="Add egress").click()
        page.get_by_label("Name", exact=True).fill("panel-proxy")
        page.locator("#egress-proxy").fill(proxy.url())
        page.get_by_label("Enabled").uncheck()
        page.locator("#egress-form").get_by_role("button", name="Add").click()
        expect(page.locator("#egress-dialog")).to_be_hidden()
        row = page.locator('#egresses-body tr[data-name="panel-proxy"]')
        expect(row).to_contain_text(f"http://127.0.0.1:{proxy.port}")
        expect(row.locator(".pill.state")).to_have_text("Disabled")

        issued = sim.clearances_issued(exit_address)
        row.get_by_role("button", name="Refresh clearance").click()
        expect(page.locator("#toasts")).to_contain_text("panel-proxy: clearance refreshed")
        expect(row).to_contain_text("solver")
        assert sim.clearances_issued(exit_address) == issued + 1  # through its own proxy
        row.get_by_role("button", name="Enable").click()
        expect(row.locator(".pill.state")).to_have_text("Healthy")

        row.get_by_role("button", name="Test now").click()
        expect(row.locator(".test-result")).to_contain_text("OK · HTTP 200")
        expect(page.locator("#test-state")).to_have_text("every test passed")

        # a clearance obtained elsewhere through the same proxy, pasted as an operator would
        solved = solver.solve(sim.base_url + "/", proxy=proxy.flaresolverr_proxy())
        cookie = next(c["value"] for c in solved["solution"]["cookies"]
                      if c["name"] == "cf_clearance")  # fmt: skip
        row.get_by_role("button", name="Edit").click()
        page.locator("#egress-ua").fill(SOLVER_USER_AGENT)
        page.locator("#egress-clearance").fill(f"cf_clearance={cookie}")
        page.locator("#egress-form").get_by_role("button", name="Save").click()
        expect(page.locator("#egress-dialog")).to_be_hidden()
        expect(row).to_contain_text("manual")
        page.get_by_role("button", name="Test all").click()
        expect(page.locator("#test-title")).to_have_text("Testing every egress")
        expect(page.locator("#test-state")).to_have_text("every test passed")
        expect(row.locator(".test-result")).to_contain_text("OK · HTTP 200")

        # every account is bound to it now (stored egresses replace the settings' one)
        accounts = page.request.get(f"{deployment.admin}/api/accounts").json()["total"]
        expect(row.locator(".bound .count")).to_have_text(str(accounts))
        for shown in (page.content(), page.locator("main").inner_text()):
            assert secret.password not in shown and cookie not in shown
        for_readme(snap(page, "egresses"), "admin-egresses.png")
        fits_a_phone(browser, context, f"{deployment.admin}/egresses", "egresses-phone")

        row.get_by_role("button", name="Remove").click()
        expect(row).to_have_count(0)


def fits_a_phone(browser: Browser, context: BrowserContext, url: str, name: str) -> None:
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    try:
        page = phone.new_page()
        page.goto(url)
        expect(page.locator("table[data-loaded]")).to_have_count(1)
        snap(page, name)
        wider = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert not wider, f"wider than the screen: {wider}"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        phone.close()


def test_the_accounts_page_fits_a_phone(browser: Browser, context: BrowserContext,
                                        deployment: Deployment) -> None:
    fits_a_phone(browser, context, f"{deployment.admin}/accounts", "accounts-phone")


def test_logging_out_ends_the_session(browser: Browser, deployment: Deployment) -> None:
    with fresh_context(browser) as window:
        page = window.new_page()
        log_in(page, deployment)
        expect(page.locator("#stat-accounts")).not_to_have_text("—")

        page.get_by_role("button", name="Log out").click()

        expect(page).to_have_url(f"{deployment.admin}/login")
        page.goto(f"{deployment.admin}/settings")
        expect(page).to_have_url(re.compile(r"/admin/login\?next="))
        assert not [c for c in window.cookies() if c["name"] == "g2a_session"]


def test_repeated_wrong_passwords_lock_the_address_out(
    browser: Browser, sim: SimHandle, tmp_path: Path
) -> None:
    own = start(tmp_path, sim)
    page = browser.new_page()
    try:
        error = page.locator("#login-error")
        for _ in range(20):
            log_in(page, own, password="not-the-password")
            expect(error).to_be_visible()
            if error.get_attribute("data-status") == "429":
                break
            expect(error).to_have_text("Wrong password.")
        expect(error).to_contain_text("locked out")
        snap(page, "login-locked-out")

        log_in(page, own)  # even the right password waits out the lockout
        expect(error).to_contain_text("locked out")
        expect(page).to_have_url(re.compile(r"/admin/login"))
    finally:
        page.close()
        output = own.service.stop()
    assert "login" in output.lower()
