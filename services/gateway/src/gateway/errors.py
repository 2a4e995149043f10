"""The gateway's errors and the one place that renders any error for a client.

    ApiError                      an error with an HTTP status and OpenAI error fields
    ├── InvalidRequest            400 invalid_request_error (names the offending ``param``)
    ├── AuthenticationFailed      401 invalid_api_key
    ├── ModelNotFound             404 model_not_found
    ├── NotFound                  404 for unknown routes
    └── BodyRefused               the body was not read to its end: the connection closes
        ├── RequestTooLarge       413 request_too_large (over server.max_body_bytes)
        └── RequestTimeout        408 request_timeout (slower than server.body_timeout)

Anything else (pool errors, upstream failures, unexpected exceptions) is mapped by
``payload_for`` so every client sees ``{"error": {"message", "type", "param", "code"}}``,
whether as a JSON response or as the last event of a stream.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import leasing
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 500
    type = "api_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_value"


class AuthenticationFailed(ApiError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class ModelNotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class BodyRefused(ApiError):
    """The request body was refused before its end. ``linger``: the client is likely still
    sending it, so ``bodies.refuse`` drains it briefly before closing (the client then reads
    the answer rather than a reset)."""

    type = "invalid_request_error"

    def __init__(self, message: str, *, linger: bool):
        super().__init__(message)
        self.linger = linger


class RequestTooLarge(BodyRefused):
    status = 413
    code = "request_too_large"


class RequestTimeout(BodyRefused):
    status = 408
    code = "request_timeout"


def _body(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _upstream(exc: leasing.UpstreamFailed) -> tuple[int, dict[str, Any]]:
    verdict = exc.verdict
    # Account problems the client cannot fix surface as 502/503/429, never as its own 401/403.
    if verdict.status == 429:
        status = 429
        type_ = "rate_limit_error"
    elif verdict.status == 504:
        status, type_ = 504, "upstream_error"
    else:
        status, type_ = 502, "upstream_error"
    explained = _UPSTREAM.get(verdict.code, "grok.com failed to answer; retry in a moment.")
    if exc.committed:
        where = "mid-answer"
    else:
        where = "on 1 account" if exc.accounts == 1 else f"on each of {exc.accounts} accounts"
    message = f"Upstream request failed {where} ({verdict.code}): {explained}"
    return status, _body(message, type_, None, verdict.code)


_UPSTREAM = {  # what happened, and what to do; never the upstream's own text (may echo secrets)
    "upstream_unavailable": "grok.com answered 5xx or the connection broke; retry in a moment.",
    "upstream_first_byte_timeout": (
        "grok.com sent nothing within timeout.first_byte_timeout; retry in a moment."
    ),
    "upstream_idle_timeout": (
        "grok.com went silent for timeout.stream_idle_timeout; retry, or raise that setting."
    ),
    "upstream_empty_stream": "grok.com ended its answer without any content; retry.",
    "upstream_malformed": (
        "grok.com answered in a shape this gateway cannot read; retry, and report it if it "
        "persists (the upstream protocol may have changed)."
    ),
    "upstream_rate_limited": "every account tried is rate limited; retry later.",
    "upstream_unauthorized": (
        "grok.com rejected the accounts' credentials; add fresh ones (grok2api tokens add)."
    ),
    "upstream_forbidden": "grok.com refused these accounts this request (403).",
    "upstream_product_unavailable": (
        "grok.com does not offer this product (image or video generation) to the accounts "
        "tried; the pool stops using them for it until their next usage refresh. Add "
        "accounts of a tier that has it (SuperGrok)."
    ),
    "upstream_challenge": (
        "grok.com answered with a Cloudflare challenge: refresh security.cf_clearance or "
        "route through another proxy (network.base_proxy_url)."
    ),
    "upstream_anti_bot": (
        "grok.com rejected the request as automated: refresh security.cf_clearance or route "
        "through another proxy (network.base_proxy_url)."
    ),
    "upstream_content_blocked": "grok.com blocked the content; rephrase the request.",
    "upstream_rejected": "grok.com refused the request itself (4xx); check the parameters.",
}


_EXHAUSTED = {
    pool_errors.ExhaustedReason.NO_ACCOUNT_OF_TIER: (
        "No account in the pool can serve this model's tier: add accounts "
        "(`grok2api tokens add`)."
    ),
    pool_errors.ExhaustedReason.ALL_COOLING: (
        "Every account that can serve this model is cooling down after upstream rate limits "
        "or repeated upstream failures."
    ),
    pool_errors.ExhaustedReason.NO_QUOTA: (
        "Every account that can serve this model has used up its quota window."
    ),
    pool_errors.ExhaustedReason.ALL_BUSY: (
        "Every account that can serve this model is at its concurrency cap "
        "(token.max_inflight_per_account); retry shortly."
    ),
    pool_errors.ExhaustedReason.NO_ACCOUNT_FOR_PRODUCT: (
        "grok.com refused every account that could serve this model its product (image or "
        "video generation; basic accounts no longer get them): add accounts of a tier that "
        "has it (SuperGrok, `grok2api tokens add`). Refused accounts are tried again after "
        "their next usage refresh (`grok2api tokens refresh`)."
    ),
}


def _exhausted_message(exc: pool_errors.PoolExhausted) -> str:
    message = _EXHAUSTED.get(exc.reason, f"No account available ({exc.reason}).")
    if exc.retry_at:
        wait = max(0, round(exc.retry_at - time.time()))
        message += f" The first one frees up in about {wait} s."
    return message


def payload_for(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and OpenAI error body for any exception (the one rendering rule)."""
    if isinstance(exc, ApiError):
        return exc.status, _body(exc.message, exc.type, exc.param, exc.code)
    if isinstance(exc, leasing.UpstreamFailed):
        return _upstream(exc)
    if isinstance(exc, pool_errors.PoolExhausted):
        return 429, _body(_exhausted_message(exc), "rate_limit_error", None, "no_available_account")
    if isinstance(exc, pool_errors.InvalidRequest):
        return 400, _body(str(exc), "invalid_request_error", "model", "invalid_value")
    if isinstance(exc, pool_errors.PoolError):
        return 503, _body("token pool unavailable", "api_error", None, "pool_unavailable")
    if isinstance(exc, RequestValidationError):
        return _validation(exc)
    if isinstance(exc, HTTPException):
        code = "not_found" if exc.status_code == 404 else "http_error"
        return exc.status_code, _body(str(exc.detail), "invalid_request_error", None, code)
    log.error("unhandled_error type=%s", type(exc).__name__, exc_info=exc)
    return 500, _body("internal error", "api_error", None, "internal_error")


def _validation(exc: RequestValidationError) -> tuple[int, dict[str, Any]]:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body",)]
    param = ".".join(loc) or None
    return 400, _body(
        f"{param}: {first.get('msg')}", "invalid_request_error", param, "invalid_value"
    )


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def error_response(exc: BaseException) -> Response:
    status, body = payload_for(exc)
    response = json_response(status, body)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, BodyRefused):
        # What the client still sends of the body would keep the connection busy (uvicorn
        # restarts no idle timer while bytes arrive): it is done either way.
        response.headers["Connection"] = "close"
    return response


def install(app: FastAPI) -> None:
    """Route every error the app can raise through ``payload_for``."""

    async def handle(_request: Request, exc: Exception) -> Response:
        return error_response(exc)

    for kind in (
        ApiError,
        RequestValidationError,
        HTTPException,
        pool_errors.PoolError,
        leasing.UpstreamFailed,
        Exception,
    ):
        app.add_exception_handler(kind, handle)
