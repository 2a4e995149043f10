"""A FlareSolverr-compatible solver for the simulator's Cloudflare front.

It speaks FlareSolverr's HTTP API (POST /v1 `request.get`, GET / and /health) and solves
the way FlareSolverr does: it visits the URL as a browser, through the given proxy, runs the
challenge (here: computes the simulator's answer and posts it) and returns the cookies it got
and its User-Agent. The clearance is therefore bound to the proxy's exit address and to
SOLVER_USER_AGENT, exactly as a real clearance is bound to the solving browser.

    POST /v1 {"cmd": "request.get", "url": ..., "maxTimeout": ms,
              "proxy": {"url": "http://host:port" | "socks5://host:port",
                        "username"?, "password"?}}
      -> {"status": "ok", "message", "solution": {"url", "status", "headers", "response",
          "cookies": [{"name", "value", "domain", "path", "expires", ...}], "userAgent"},
          "startTimestamp", "endTimestamp", "version"}
      errors (HTTP 500): {"status": "error", "message", "startTimestamp", "endTimestamp",
          "version"}; messages name the proxy without its credentials.

Control for tests: POST /_solver/fail {times, message?} makes the next solves fail;
GET /_solver/stats -> {"solves": {proxy endpoint or "direct": count}, "failures": n}.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from curl_cffi import requests as curl_requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .clearance import expected_answer

VERSION = "3.3.21"
"""The FlareSolverr release whose API this mirrors."""

SOLVER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IMPERSONATE = "chrome131"
"""curl_cffi's TLS and HTTP/2 fingerprint of the same browser the User-Agent names."""

CHALLENGE_RAY = re.compile(r"cRay:'([0-9a-zA-Z]+)',cFPWv:'([^']+)'")


class SolveFailed(Exception):
    """A solve that ends in FlareSolverr's error answer; the message is safe to show."""


@dataclass(kw_only=True)
class SolverState:
    """Counters and armed failures of one solver."""

    solves: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    fail_next: int = 0
    fail_message: str = "Error solving the challenge. Timeout after 60.0 seconds."


@dataclass(frozen=True, kw_only=True)
class ProxyChoice:
    """The proxy of one request: `url` carries the credentials, `endpoint` never does."""

    url: str | None
    endpoint: str


def proxy_from(spec: Any) -> ProxyChoice:
    """FlareSolverr's `proxy` object as a curl proxy URL (credentials percent-encoded)."""
    if not spec:
        return ProxyChoice(url=None, endpoint="direct")
    if not isinstance(spec, Mapping) or not spec.get("url"):
        raise SolveFailed("Error: proxy must be an object with a url")
    parsed = urllib.parse.urlsplit(str(spec["url"]))
    if parsed.scheme not in ("http", "https", "socks4", "socks5", "socks5h") or not parsed.hostname:
        raise SolveFailed("Error: proxy url must be http://, socks4:// or socks5:// with a host")
    endpoint = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or ''}".rstrip(":")
    username = spec.get("username") or parsed.username
    password = spec.get("password") or parsed.password
    netloc = f"{parsed.hostname}:{parsed.port}" if parsed.port else str(parsed.hostname)
    if username:
        credentials = urllib.parse.quote(str(username), safe="")
        if password:
            credentials += ":" + urllib.parse.quote(str(password), safe="")
        netloc = f"{credentials}@{netloc}"
    return ProxyChoice(url=f"{parsed.scheme}://{netloc}", endpoint=endpoint)


def cookie_list(session: curl_requests.AsyncSession) -> list[dict[str, Any]]:
    """The session's cookies in FlareSolverr's (Chrome DevTools) shape."""
    listed = []
    for cookie in session.cookies.jar:
        listed.append({
            "name": cookie.name, "value": cookie.value or "", "domain": cookie.domain,
            "path": cookie.path, "expires": cookie.expires if cookie.expires else -1,
            "size": len(cookie.name) + len(cookie.value or ""),
            "httpOnly": cookie.has_nonstandard_attr("HttpOnly"), "secure": cookie.secure,
            "session": cookie.expires is None, "sameSite": "Lax",
        })
    return listed


async def solve(*, url: str, proxy: ProxyChoice, max_seconds: float) -> dict[str, Any]:
    """Visit `url` through `proxy`, answer a challenge when one comes, return the solution."""
    async with curl_requests.AsyncSession(
        impersonate=IMPERSONATE, headers={"User-Agent": SOLVER_USER_AGENT},
        proxy=proxy.url, timeout=max_seconds, allow_redirects=True,
    ) as session:
        try:
            page = await session.get(url)
            challenged = page.status_code == 403 and CHALLENGE_RAY.search(page.text)
            if challenged:
                ray, answer_path = challenged.group(1), challenged.group(2)
                await session.post(urllib.parse.urljoin(url, answer_path),
                                   data={"answer": expected_answer(ray)})
                page = await session.get(url)
        except curl_requests.RequestsError as error:
            # curl's message may quote the proxy URL; name only its endpoint.
            raise SolveFailed(
                f"Error: could not reach {url} through {proxy.endpoint} "
                f"(curl error {getattr(error, 'code', '?')})"
            ) from error
        return {
            "url": str(page.url), "status": page.status_code,
            "headers": dict(page.headers), "response": page.text,
            "cookies": cookie_list(session), "userAgent": SOLVER_USER_AGENT,
            "message": "Challenge solved!" if challenged else "Challenge not detected!",
        }


def answer(payload: dict[str, Any], *, status: int, started: float) -> Response:
    payload.update(startTimestamp=int(started * 1000), endTimestamp=int(time.time() * 1000),
                   version=VERSION)
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def v1(request: Request) -> Response:
    started = time.time()
    state: SolverState = request.app.state.solver
    try:
        command = orjson.loads(await request.body())
        if not isinstance(command, dict):
            raise SolveFailed("Error: the request body must be a JSON object")
        if command.get("cmd") != "request.get":
            raise SolveFailed(f"Error: unsupported cmd {command.get('cmd')!r} (only request.get)")
        if not command.get("url"):
            raise SolveFailed(
                "Error: Request parameter 'url' is mandatory in 'request.get' command.")
        proxy = proxy_from(command.get("proxy"))
        if state.fail_next > 0:
            state.fail_next -= 1
            raise SolveFailed(state.fail_message)
        solution = await solve(url=str(command["url"]), proxy=proxy,
                               max_seconds=float(command.get("maxTimeout", 60000)) / 1000)
    except orjson.JSONDecodeError:
        state.failures += 1
        return answer({"status": "error", "message": "Error: the body is not JSON"},
                      status=500, started=started)
    except SolveFailed as error:
        state.failures += 1
        return answer({"status": "error", "message": str(error)}, status=500, started=started)
    state.solves[proxy.endpoint] += 1
    message = solution.pop("message")
    return answer({"status": "ok", "message": message, "solution": solution},
                  status=200, started=started)


async def index(request: Request) -> Response:
    return answer({"msg": "FlareSolverr is ready!", "userAgent": SOLVER_USER_AGENT},
                  status=200, started=time.time())


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


async def fail(request: Request) -> Response:
    state: SolverState = request.app.state.solver
    data = orjson.loads(await request.body() or b"{}")
    state.fail_next = int(data.get("times", 1))
    if data.get("message"):
        state.fail_message = str(data["message"])
    return Response(orjson.dumps({"failNext": state.fail_next}), media_type="application/json")


async def stats(request: Request) -> Response:
    state: SolverState = request.app.state.solver
    return Response(orjson.dumps({"solves": dict(state.solves), "failures": state.failures}),
                    media_type="application/json")


def create_solver_app() -> Starlette:
    app = Starlette(routes=[
        Route("/", index, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/v1", v1, methods=["POST"]),
        Route("/_solver/fail", fail, methods=["POST"]),
        Route("/_solver/stats", stats, methods=["GET"]),
    ])
    app.state.solver = SolverState()
    return app
