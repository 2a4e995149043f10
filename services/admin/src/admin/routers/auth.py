"""Logging in and out: the only admin API routes reachable without credentials.

Wrong passwords are counted per client address in the session backend (so the count
holds across replicas); the ``max_failures``-th within the window locks the address out,
and every login from it gets 429 with ``Retry-After`` until the lock ends. The password
itself is never logged or audited.
"""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from .. import audit, errors, security

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])


class Login(BaseModel):
    password: str


class SessionState(BaseModel):
    authenticated: bool
    """A live session cookie or a right bearer key came with the request."""
    default_password: bool
    """``app.app_key`` is still the default; the panel shows a banner asking to change it."""


def _locked(seconds: float) -> errors.AdminError:
    wait = max(1, math.ceil(seconds))
    return errors.AdminError(
        429,
        f"too many wrong passwords from this address; try again in {wait} s",
        type="rate_limit_error",
        code="login_locked",
        headers={"Retry-After": str(wait)},
    )


@router.post("/login", status_code=204, response_class=Response, responses={
    401: {"description": "wrong password"},
    429: {"description": "this address is locked out (see Retry-After)"},
})
async def login(credentials: Login, request: Request) -> Response:
    """Check the admin password; on success set the session and CSRF cookies."""
    store, policy = security.session_store(request), security.policy(request)
    client = audit.client_address(request)
    locked = await store.locked_for(client)
    if locked > 0:
        raise _locked(locked)
    if not security.password_matches(request, credentials.password):
        failures = await store.count_failure(client, window_seconds=policy.failure_window_seconds)
        log.warning("admin_login_failed client=%s failures=%d", client, failures)
        if failures >= policy.max_failures:
            await store.lock(client, seconds=policy.lockout_seconds)
            log.warning("admin_login_locked client=%s seconds=%d", client, policy.lockout_seconds)
            await audit.audit(request, "auth.lockout", client, failures=failures)
            raise _locked(policy.lockout_seconds)
        raise errors.unauthorized("wrong password")
    await store.clear_failures(client)
    session = await security.open_session(request)
    request.state.admin_actor = f"session:{session.handle}"
    await audit.audit(request, "auth.login")
    response = Response(status_code=204)
    security.set_session_cookies(request, response, session)
    return response


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request) -> Response:
    """End the session (when one is live, its CSRF token is required) and clear cookies."""
    session = await security.current_session(request)
    if session is not None:
        security.check_csrf(request, session)
        await security.session_store(request).delete(session.id)
        request.state.admin_actor = f"session:{session.handle}"
        await audit.audit(request, "auth.logout")
    response = Response(status_code=204)
    security.clear_session_cookies(request, response)
    return response


@router.get("/session")
async def session_state(request: Request) -> SessionState:
    """Whether this request is logged in, and whether the default password is in use."""
    token = security.bearer(request)
    if token is not None:
        authenticated = security.password_matches(request, token)
    else:
        authenticated = await security.current_session(request) is not None
    return SessionState(
        authenticated=authenticated, default_password=security.uses_default_password(request)
    )
