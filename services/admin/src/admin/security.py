"""Who may use the admin API: a browser session (with CSRF protection) or the bearer key.

``require_admin`` guards every router in ``routers.PROTECTED``:

- ``Authorization: Bearer <app.app_key>`` (scripts): accepted as is; a bearer header with
  a wrong key is refused outright rather than falling back to a cookie.
- the ``g2a_session`` cookie (browsers, set by ``POST /api/auth/login``): the session must
  be live and opened under the current password, and a request that can change something
  (POST, PUT, PATCH, DELETE) must repeat the session's CSRF token in the ``X-CSRF-Token``
  header. The token is also in the readable ``g2a_csrf`` cookie, so the page's script can
  copy it (double submit); another site can neither read that cookie nor set the header.

On success ``request.state.admin_actor`` names the caller for the audit trail.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging

from fastapi import Request, Response
from grok2api_settings.live import LiveSettings
from grok2api_settings.sections import AppSettings

from . import errors, sessions

log = logging.getLogger(__name__)

SESSION_COOKIE = "g2a_session"
CSRF_COOKIE = "g2a_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PASSWORD: str = AppSettings.model_fields["app_key"].default


@dataclasses.dataclass(frozen=True)
class AuthPolicy:
    """How long sessions live and how wrong passwords are throttled."""

    session_ttl_seconds: int = 12 * 3600
    """A session ends this long after login (seconds); the cookies carry the same Max-Age."""
    max_failures: int = 5
    """Wrong passwords from one client address, within the window, that lock it out."""
    failure_window_seconds: int = 15 * 60
    """The window in which wrong passwords are counted (seconds)."""
    lockout_seconds: int = 15 * 60
    """How long a locked-out address gets 429 on every login (seconds)."""


def password_matches(request: Request, given: str) -> bool:
    settings: LiveSettings = request.app.state.settings
    return hmac.compare_digest(given.encode(), settings.current.app.app_key.encode())


def uses_default_password(request: Request) -> bool:
    settings: LiveSettings = request.app.state.settings
    return settings.current.app.app_key == DEFAULT_PASSWORD


def session_store(request: Request) -> sessions.SessionStore:
    store: sessions.SessionStore = request.app.state.sessions
    return store


def policy(request: Request) -> AuthPolicy:
    value: AuthPolicy = request.app.state.auth_policy
    return value


def bearer(request: Request) -> str | None:
    """The bearer token of the request, or ``None`` when it sends none."""
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else None


async def current_session(request: Request) -> sessions.Session | None:
    """The request's live session, if its cookie names one opened under the current
    password (a password change ends every session)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    session = await session_store(request).get(session_id)
    if session is None:
        return None
    settings: LiveSettings = request.app.state.settings
    expected = sessions.seal(settings.current.app.app_key, session.id)
    if not hmac.compare_digest(session.password_seal, expected):
        return None
    return session


async def open_session(request: Request) -> sessions.Session:
    settings: LiveSettings = request.app.state.settings
    session = sessions.new_session(password=settings.current.app.app_key)
    await session_store(request).create(session, ttl_seconds=policy(request).session_ttl_seconds)
    return session


def check_csrf(request: Request, session: sessions.Session) -> None:
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
        raise errors.AdminError(
            403,
            f"CSRF check failed: send the {CSRF_COOKIE} cookie's value in the "
            f"{CSRF_HEADER} header",
            type="permission_error",
            code="csrf_failed",
        )


async def require_admin(request: Request) -> None:
    """The admin check of every protected route (see the module docstring)."""
    token = bearer(request)
    if token is not None:
        if not password_matches(request, token):
            raise errors.unauthorized(f"wrong bearer key: {errors.AUTHENTICATE}")
        request.state.admin_actor = "bearer"
        return
    session = await current_session(request)
    if session is None:
        raise errors.unauthorized()
    check_csrf(request, session)
    request.state.admin_actor = f"session:{session.handle}"


def cookie_path(request: Request) -> str:
    """The admin app's own prefix (``/admin``), so the cookies go nowhere else."""
    return str(request.scope.get("root_path") or "") or "/"


def set_session_cookies(request: Request, response: Response, session: sessions.Session) -> None:
    # Secure only over TLS: a plain-HTTP laptop setup must still be able to log in. Behind a
    # TLS-terminating proxy uvicorn takes the scheme from X-Forwarded-Proto when the proxy's
    # address is in FORWARDED_ALLOW_IPS (uvicorn's setting, 127.0.0.1 by default).
    secure = request.url.scheme == "https"
    common = {
        "max_age": policy(request).session_ttl_seconds,
        "path": cookie_path(request),
        "secure": secure,
        "samesite": "strict",
    }
    response.set_cookie(SESSION_COOKIE, session.id, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, session.csrf_token, httponly=False, **common)  # type: ignore[arg-type]


def clear_session_cookies(request: Request, response: Response) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path=cookie_path(request), secure=request.url.scheme == "https",
            httponly=name == SESSION_COOKIE, samesite="strict",
        )
