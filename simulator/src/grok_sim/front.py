"""Cloudflare's front before every simulated host: clearance checks and challenge answers.

`CloudflareFront` wraps the whole app (HTTP and WebSocket). The control API (`/_sim/`) and
the challenge's answer endpoint pass untouched; every other request is challenged when an
on-demand rule covers its client address, or when it lacks a valid `cf_clearance` for its
(address, User-Agent) and either clearance is required or it asks for the home page.
"""

from __future__ import annotations

import urllib.parse

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from . import responses
from .clearance import ANSWER_PATH
from .gate import parse_cookie
from .routes.common import headers_of, sim_state
from .state import SimState

HOME_PAGE = (
    "<!DOCTYPE html><html lang=\"en\"><head><title>Grok</title></head>"
    "<body><main><h1>Grok</h1></main></body></html>"
)


def client_address(scope: Scope) -> str:
    """The TCP peer (forwarding headers are not trusted: proxies are seen by their exit)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def challenge_needed(state: SimState, scope: Scope) -> bool:
    path: str = scope["path"]
    if path.startswith(("/_sim/", ANSWER_PATH)):
        return False
    address = client_address(scope)
    book = state.clearance
    if book.take_challenge(address=address):
        return True
    if not (state.options.clearance_required or path == "/"):
        return False
    headers = headers_of(HTTPConnection(scope))
    cookie = parse_cookie(headers.get("cookie", "")).get("cf_clearance")
    return not book.is_valid(cookie, address=address, user_agent=headers.get("user-agent", ""),
                             now=state.now())


class CloudflareFront:
    """ASGI middleware answering the challenge page instead of the app when due."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = sim_state(HTTPConnection(scope))
        if not challenge_needed(state, scope):
            await self.app(scope, receive, send)
            return
        ray = state.clearance.new_ray(address=client_address(scope))
        rejected = responses.cloudflare_challenge(ray=ray)
        answer = Response(rejected.body, status_code=rejected.status,
                          media_type=rejected.content_type, headers=rejected.headers)
        if scope["type"] == "websocket":
            await WebSocket(scope, receive, send).send_denial_response(answer)
        else:
            await answer(scope, receive, send)


async def home(request: Request) -> Response:
    """grok.com's home page (reached only with a valid clearance)."""
    return HTMLResponse(HOME_PAGE)


async def answer_challenge(request: Request) -> Response:
    """The challenge script's answer: a `cf_clearance` for this address and User-Agent."""
    state = sim_state(request)
    ray = request.path_params["ray"]
    form = urllib.parse.parse_qs((await request.body()).decode("latin-1"))
    value = state.clearance.solve(
        ray=ray, answer=(form.get("answer") or [""])[0], address=client_address(request.scope),
        user_agent=request.headers.get("user-agent", ""), now=state.now(),
        ttl=state.options.scaled(state.options.clearance_ttl_seconds),
    )
    if value is None:
        # A wrong, reused or foreign answer earns a fresh challenge, as on the real site.
        rejected = responses.cloudflare_challenge(
            ray=state.clearance.new_ray(address=client_address(request.scope)))
        return Response(rejected.body, status_code=rejected.status,
                        media_type=rejected.content_type, headers=rejected.headers)
    lifetime = state.options.clearance_ttl_seconds
    answer = HTMLResponse("<!DOCTYPE html><html><body>ok</body></html>")
    # Host-only and not Secure: the simulator is plain HTTP on an IP address.
    answer.set_cookie("cf_clearance", value, max_age=int(lifetime), expires=int(lifetime),
                      path="/", httponly=True, samesite="lax")
    return answer
