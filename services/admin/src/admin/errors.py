"""The admin API's errors and their one JSON shape.

Every error under ``/api`` is rendered as ``{"error": {"message", "type", "code"}}``, the
gateway's shape without ``param``::

    AdminError                status, message, type, code, extra headers
    ├── raised by handlers and the admin check (401, 403, 429, 404...)
    HTTPException             FastAPI's own (404 of an unknown API path, 405), and any a
                              handler raises: same shape; a structured ``detail`` (a dict,
                              a list) is kept as ``error.detail`` and summed up in ``message``
    RequestValidationError    400 ``invalid_request_error`` naming the first bad field
    anything else             500 ``server_error`` (a bug): the same shape, saying to look in
                              the log, where the traceback is; never the exception's text

Paths outside ``/api`` (the pages) keep FastAPI's default rendering of their errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

AUTHENTICATE = (
    "log in with POST /admin/api/auth/login {\"password\": <app.app_key>}, "
    "or send 'Authorization: Bearer <app.app_key>'"
)


class AdminError(Exception):
    """An error the admin API answers with; ``headers`` are added to the response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str = "invalid_request",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.headers = headers or {}


def unauthorized(message: str = f"authentication required: {AUTHENTICATE}") -> AdminError:
    return AdminError(
        401, message, type="authentication_error", code="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="grok2api admin"'},
    )


def body(message: str, type: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "code": code}}


def response(exc: AdminError) -> Response:
    return JSONResponse(body(exc.message, exc.type, exc.code), exc.status, headers=exc.headers)


def summary(detail: Any, prefix: str = "") -> str:
    """A one-line message from an ``HTTPException`` detail: a string as is, a dict as
    ``key.sub: value`` parts joined by ``; ``."""
    if isinstance(detail, dict):
        return "; ".join(
            summary(value, f"{prefix}{key}." if isinstance(value, dict) else f"{prefix}{key}: ")
            for key, value in detail.items()
        )
    if isinstance(detail, list | tuple):
        return prefix + ", ".join(str(item) for item in detail)
    return f"{prefix}{detail}"


def _is_api(request: Request) -> bool:
    root = request.scope.get("root_path", "")
    path = request.url.path
    local = path[len(root):] if root and path.startswith(root) else path
    return local == "/api" or local.startswith("/api/")


def install(app: FastAPI) -> None:
    async def admin_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AdminError)
        return response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not _is_api(request):
            return await http_exception_handler(request, exc)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        content = body(summary(exc.detail), "invalid_request_error", code)
        if not isinstance(exc.detail, str):
            content["error"]["detail"] = exc.detail
        return JSONResponse(content, exc.status_code, headers=dict(exc.headers or {}))

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse(
            body(f"{where}: {first.get('msg')}", "invalid_request_error", "invalid_value"), 400
        )

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        if not _is_api(request):
            return PlainTextResponse("Internal Server Error", 500)
        # Starlette logs the traceback after this answer; its text may hold data, so the
        # client gets none of it.
        message = "the admin service failed on this request (a bug): its log has the details"
        return JSONResponse(body(message, "server_error", "internal_error"), 500)

    app.add_exception_handler(AdminError, admin_error)
    app.add_exception_handler(Exception, unexpected_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
