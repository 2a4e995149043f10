"""The panel's pages: server-rendered shells whose data comes from the JSON API.

A page carries no account, key or setting data itself; its script asks ``/api`` for them
with the session cookie, so the API's admin check is the one gate (a page opened without
a session sends the browser to the login page as soon as the API answers 401). A page's
route, template (``templates/<name>.html``), script (``static/<name>.js``) and browser
test share one name.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

PACKAGE = Path(__file__).resolve().parent.parent


@functools.cache
def templates() -> Jinja2Templates:
    """The pages' templates, loaded with Jinja2 at the first page served: a process whose
    panel nobody opens does not hold Jinja2 (about 2 MB)."""
    from fastapi.templating import Jinja2Templates

    return Jinja2Templates(directory=PACKAGE / "templates")


NAV: tuple[tuple[str, str], ...] = (
    ("dashboard", "Dashboard"),
    ("accounts", "Accounts"),
    ("egresses", "Egresses"),
    ("keys", "Client keys"),
    ("usage", "Usage"),
    ("settings", "Settings"),
    ("cache", "Cache"),
    ("audit", "Audit"),
)
"""The pages in the navigation bar: route name (also template and script name), label."""

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str) -> HTMLResponse:
    base = request.scope.get("root_path", "").rstrip("/")
    context = {"page": name, "nav": NAV, "base": base}
    return templates().TemplateResponse(request, f"{name}.html", context)


@router.get("/")
async def index(request: Request) -> RedirectResponse:
    base = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{base}/dashboard", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request) -> HTMLResponse:
    return _render(request, "login")


def _page(name: str) -> None:
    async def show(request: Request) -> HTMLResponse:
        return _render(request, name)

    router.add_api_route(f"/{name}", show, methods=["GET"], response_class=HTMLResponse, name=name)


for _name, _ in NAV:
    _page(_name)


def mount(app: FastAPI) -> None:
    """Serve the pages and their static files (styles, scripts, vendored libraries)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")
