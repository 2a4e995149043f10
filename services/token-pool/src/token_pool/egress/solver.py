"""FlareSolverr's HTTP API: pass the Cloudflare challenge of a URL through a given proxy.

Request: ``POST {solver_url}/v1`` ``{"cmd": "request.get", "url": …, "maxTimeout": ms,
"proxy": {"url": "scheme://host:port", "username": …, "password": …}}``; the answer's
``solution.cookies`` (a list of ``{name, value, expires}``) and ``solution.userAgent`` are the
clearance. Errors never repeat the proxy's credentials or the cookies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from curl_cffi import requests as curl

# Cookies that make up a clearance (Cloudflare's); others the page sets are not needed.
CF_COOKIE_PREFIXES = ("cf_", "__cf", "_cf")

PostJson = Callable[[str, Mapping[str, Any], float], Awaitable[tuple[int, Any]]]


class SolverError(Exception):
    """The solver could not produce a clearance; the message is safe to log."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Solution:
    cookies: str = dataclasses.field(repr=False)
    user_agent: str
    expires_at: datetime | None


def proxy_argument(proxy_url: str) -> dict[str, str] | None:
    """FlareSolverr's ``proxy`` object: the URL without credentials, which travel apart."""
    if not proxy_url:
        return None
    parts = urlsplit(proxy_url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    netloc = shown + (f":{parts.port}" if parts.port else "")
    argument = {"url": urlunsplit((parts.scheme, netloc, "", "", ""))}
    if parts.username:
        argument["username"] = unquote(parts.username)
        argument["password"] = unquote(parts.password or "")
    return argument


async def _post_json(url: str, body: Mapping[str, Any], seconds: float) -> tuple[int, Any]:
    async with curl.AsyncSession() as session:
        response = await session.post(url, json=dict(body), timeout=seconds)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None


class FlareSolverr:
    def __init__(self, *, url: str, timeout: float, post_json: PostJson = _post_json) -> None:
        self._endpoint = url.rstrip("/") + "/v1"
        self._timeout = timeout
        self._post = post_json

    async def solve(self, *, target: str, proxy_url: str) -> Solution:
        body: dict[str, Any] = {
            "cmd": "request.get",
            "url": target,
            "maxTimeout": int(self._timeout * 1000),
        }
        proxy = proxy_argument(proxy_url)
        if proxy is not None:
            body["proxy"] = proxy
        try:
            status, answer = await self._post(self._endpoint, body, self._timeout + 10)
        except Exception as exc:  # the transport's errors vary; none may carry secrets out
            raise SolverError(f"the solver did not answer ({type(exc).__name__})") from None
        if not isinstance(answer, dict) or status >= 400 or answer.get("status") != "ok":
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise SolverError(f"the solver failed (HTTP {status}): {str(message)[:200]}")
        return _solution(answer.get("solution") or {})


def _solution(solution: Mapping[str, Any]) -> Solution:
    cookies = [
        c
        for c in solution.get("cookies") or ()
        if str(c.get("name", "")).startswith(CF_COOKIE_PREFIXES)
    ]
    if not cookies:
        raise SolverError("the solver answered without Cloudflare cookies")
    expiries = [float(c["expires"]) for c in cookies if float(c.get("expires") or 0) > 0]
    return Solution(
        cookies="; ".join(f"{c['name']}={c['value']}" for c in cookies),
        user_agent=str(solution.get("userAgent") or ""),
        expires_at=datetime.fromtimestamp(min(expiries), UTC) if expiries else None,
    )
