"""Error answers the real site gives, as `RequestRejected` values (grok-protocol.md §17)."""

from __future__ import annotations

import orjson

from .clearance import ANSWER_PATH
from .errors import RequestRejected
from .faults import FaultRule

CF_CHALLENGE_HTML = (
    "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head><body>"
    "<div class=\"main-wrapper\" role=\"main\"><div class=\"main-content\">"
    "<h1 class=\"zone-name-title h1\">grok.com</h1><p>Verifying you are human.</p>"
    "<noscript>Enable JavaScript and cookies to continue</noscript></div></div>"
    "<script>window._cf_chl_opt={{cvId:'3',cType:'managed',cRay:'{ray}',"
    "cFPWv:'{answer_path}{ray}'}};"
    "var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/h/g/orchestrate/"
    "chl_page/v1?ray={ray}';/* __cf_chl_rt_tk cf-chl- */</script></body></html>"
)
"""The managed-challenge page; a browser's script posts its answer to `cFPWv`."""
INVALID_CREDENTIALS = "bad-credentials: invalid-credentials (failed to look up session id)"


def error_body(*, code: int, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": []}})


def unauthorized() -> RequestRejected:
    return RequestRejected(status=401, body=error_body(code=16, message=INVALID_CREDENTIALS))


def rate_limited(*, retry_after: int, message: str = "Too many requests") -> RequestRejected:
    return RequestRejected(
        status=429,
        body=error_body(code=8, message=message),
        headers={"retry-after": str(retry_after)},
    )


def not_found(what: str) -> RequestRejected:
    return RequestRejected(status=404, body=error_body(code=5, message=f"{what} not found"))


def bad_request(message: str) -> RequestRejected:
    return RequestRejected(status=400, body=error_body(code=3, message=message))


def cloudflare_challenge(*, ray: str = "sim") -> RequestRejected:
    """The 403 challenge page; `ray` names the challenge the answer must solve."""
    page = CF_CHALLENGE_HTML.format(ray=ray, answer_path=ANSWER_PATH)
    return RequestRejected(
        status=403,
        body=page.encode(),
        content_type="text/html; charset=UTF-8",
        headers={"server": "cloudflare", "cf-mitigated": "challenge"},
    )


def for_fault(rule: FaultRule, *, scale: float) -> RequestRejected:
    """The answer of one request-level fault."""
    kind = rule.kind
    if kind == "401":
        return unauthorized()
    if kind == "cf":
        return cloudflare_challenge()
    if kind == "blocked":
        return RequestRejected(
            status=403, body=error_body(code=7, message="blocked-user: user is blocked")
        )
    if kind in ("403", "upload-403"):
        return RequestRejected(
            status=403, body=error_body(code=7, message="Forbidden: request blocked by policy")
        )
    if kind == "404":
        return not_found("endpoint")
    if kind == "429":
        seconds = float(rule.params.get("retry_after", 60))
        return rate_limited(retry_after=max(round(seconds / scale), 1))
    status = int(kind) if kind in ("500", "502", "503") else 500
    return RequestRejected(
        status=status, body=error_body(code=13 if status == 500 else 14, message="Upstream error")
    )
