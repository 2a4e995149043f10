"""The gateway's errors and the one place that renders any error for a client.

    ApiError                      an error with an HTTP status and OpenAI error fields
    ├── InvalidRequest            400 invalid_request_error (names the offending ``param``)
    ├── AuthenticationFailed      401 invalid_api_key (or api_key_revoked, _disabled, _expired)
    ├── ModelNotAllowed           403 model_not_allowed (outside the client key's allowlist)
    ├── ModelNotFound             404 model_not_found
    ├── RateLimited               429 a client key's limit, with Retry-After
    ├── NotFound                  404 for unknown routes
    ├── StoreUnavailable          503 state shared by the replicas cannot be reached
    └── BodyRefused               the body was not read to its end: the connection closes
        ├── RequestTooLarge       413 request_too_large (over server.max_body_bytes)
        └── RequestTimeout        408 request_timeout (slower than server.body_timeout)

Anything else (pool errors, upstream failures, unexpected exceptions) is mapped by
``payload_for`` so every client sees ``{"error": {"message", "type", "param", "code"}}``,
whether as a JSON response or as the last event of a stream.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from grok2api_poolclient import errors as pool_errors
from grok2api_poolclient import explain, leasing
from starlette.exceptions import HTTPException

from .access import limits

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 500
    type = "api_error"
    code: str | None = None
    headers: dict[str, str] = {}

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


class ModelNotAllowed(ApiError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class RateLimited(ApiError):
    """A client key's limit refused the request; ``Retry-After`` says when to try again."""

    status = 429

    @classmethod
    def of(cls, refused: limits.Refused) -> RateLimited:
        quota = refused.limit in (limits.Limit.DAILY_QUOTA, limits.Limit.MONTHLY_QUOTA)
        wait = max(1, math.ceil(refused.retry_after))
        error = cls(
            f"This API key reached its {refused.limit.value} limit ({refused.allowed}); "
            f"retry after {wait} s, or ask the gateway's administrator to raise the limit.",
            code="insufficient_quota" if quota else "rate_limit_exceeded",
        )
        error.type = "insufficient_quota" if quota else "requests"
        error.headers = {"Retry-After": str(wait), "X-Grok2api-Limit": refused.limit.value}
        return error


class ModelNotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class StoreUnavailable(ApiError):
    status = 503
    type = "api_error"
    code = "store_unavailable"


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


def payload_for(exc: BaseException, *, quiet: bool = False) -> tuple[int, dict[str, Any]]:
    """Status and OpenAI error body for any exception (the one rendering rule). An
    unexpected exception is logged, unless ``quiet`` (it is logged where it is rendered)."""
    if isinstance(exc, ApiError):
        return exc.status, _body(exc.message, exc.type, exc.param, exc.code)
    explained = explain.explain(exc)
    if explained is not None:
        param = "model" if isinstance(exc, pool_errors.InvalidRequest) else None
        return explained.status, _body(explained.message, explained.type, param, explained.code)
    if isinstance(exc, RequestValidationError):
        return _validation(exc)
    if isinstance(exc, HTTPException):
        code = "not_found" if exc.status_code == 404 else "http_error"
        return exc.status_code, _body(str(exc.detail), "invalid_request_error", None, code)
    if not quiet:
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
    if isinstance(exc, ApiError):
        response.headers.update(exc.headers)
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
