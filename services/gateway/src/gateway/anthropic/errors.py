"""Every gateway error in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}}``.

The gateway's exceptions and the pool's and upstream's failures keep one meaning each
(``gateway.errors.payload_for`` decides status and message); this module only re-labels
them with Anthropic's error types, so both API families say the same thing about a failure.
No account able to serve the model becomes 529 ``overloaded_error``: Anthropic's clients
back off and retry on it, which is what the caller should do.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from .. import errors

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
OVERLOADED = 529
_OVERLOADED_CODES = frozenset({"no_available_account"})


def payload_for(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and Anthropic error body for any exception."""
    status, body = errors.payload_for(exc)
    error = body["error"]
    if error.get("code") in _OVERLOADED_CODES:
        status = OVERLOADED
    return status, body_of(status, error["message"])


def body_of(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": _TYPES.get(status, "api_error"), "message": message}}


def error_event(body: dict[str, Any]) -> bytes:
    """The SSE event that ends a stream that failed after it began."""
    return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"


def error_response(exc: BaseException) -> Response:
    status, body = payload_for(exc)
    response = Response(orjson.dumps(body), status_code=status, media_type="application/json")
    if isinstance(exc, errors.ApiError):
        response.headers.update(exc.headers)
    return response
