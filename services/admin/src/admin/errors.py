"""The admin API's errors and their one JSON shape.

Every error under ``/api`` is rendered as ``{"error": {"message", "type", "code"}}``, the
gateway's shape without ``param``::

    AdminError                status, message, type, code, extra headers
    ├── raised by handlers and the admin check (401, 403, 429, 404...)
    HTTPException             FastAPI's own (404 of an unknown API path, 405): same shape
    RequestValidationError    400 ``invalid_request_error`` naming the first bad field

Pages (outside ``/api``) keep Starlette's default rendering, so a browser sees HTML errors
from the panel and JSON ones from its API.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
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
        return JSONResponse(
            body(str(exc.detail), "invalid_request_error", code),
            exc.status_code,
            headers=dict(exc.headers or {}),
        )

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse(
            body(f"{where}: {first.get('msg')}", "invalid_request_error", "invalid_value"), 400
        )

    app.add_exception_handler(AdminError, admin_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
