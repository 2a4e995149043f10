"""Admission of upstream requests: required headers, credential, request-level faults.

Each check raises `RequestRejected` with the answer the real site would give (or, for a
request that breaks the protocol, a 400 naming exactly what is missing or invalid).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping

import orjson

from . import faults, responses
from .accounts import Account
from .errors import RequestRejected
from .state import SimState

JSON_HEADERS = ("cookie", "x-statsig-id", "x-xai-request-id", "origin", "referer", "user-agent")


def parse_cookie(header: str) -> dict[str, str]:
    """Cookie pairs; tolerant of `;` without a space (v1.5.0 appends cf_clearance so)."""
    pairs: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            pairs.setdefault(name, value)
    return pairs


def sso_from(headers: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The sso credential and the list of cookie problems (empty when fine)."""
    cookie = headers.get("cookie", "")
    if not cookie:
        return None, ["Cookie (sso, sso-rw)"]
    values = parse_cookie(cookie)
    sso, sso_rw = values.get("sso"), values.get("sso-rw")
    problems = []
    if not sso:
        problems.append("Cookie sso")
    if not sso_rw:
        problems.append("Cookie sso-rw")
    elif sso and sso_rw != sso:
        problems.append("Cookie sso-rw (must equal sso)")
    return sso, problems


def check_statsig(value: str) -> bool:
    """x-statsig-id must be base64 of a string starting `e:` (Python static/dynamic forms)."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return decoded.startswith(b"e:")


def check_request_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def missing_json_headers(
    headers: Mapping[str, str], *, with_body: bool, content_type: str = "application/json"
) -> list[str]:
    """Problems with the Python build_headers set (§2.2) for a grok.com REST call."""
    _, problems = sso_from(headers)
    for name in JSON_HEADERS[1:]:
        if not headers.get(name):
            problems.append(name)
    statsig = headers.get("x-statsig-id")
    if statsig and not check_statsig(statsig):
        problems.append("x-statsig-id (base64 of a string starting 'e:')")
    request_id = headers.get("x-xai-request-id")
    if request_id and not check_request_id(request_id):
        problems.append("x-xai-request-id (UUID)")
    if with_body and content_type not in headers.get("content-type", ""):
        problems.append(f"Content-Type ({content_type})")
    return problems


def missing_headers(
    headers: Mapping[str, str], *, names: tuple[str, ...], content_type: str | None = None
) -> list[str]:
    """Problems with a HEAD-generation header set (§2.2): the sso cookie, each of `names`
    (a UUID check for `x-xai-request-id`) and, when given, the content type."""
    _, problems = sso_from(headers)
    problems += [name for name in names if not headers.get(name)]
    request_id = headers.get("x-xai-request-id")
    if "x-xai-request-id" in names and request_id and not check_request_id(request_id):
        problems.append("x-xai-request-id (UUID)")
    if content_type is not None and content_type not in headers.get("content-type", ""):
        problems.append(f"Content-Type ({content_type})")
    return problems


def reject_missing(problems: list[str]) -> None:
    if problems:
        raise RequestRejected(
            status=400,
            body=orjson.dumps(
                {
                    "error": {
                        "code": 3,
                        "message": "missing or invalid: " + ", ".join(problems),
                        "details": [],
                    },
                    "missing": problems,
                }
            ),
        )


def account_for(state: SimState, credential: str | None) -> Account:
    """The account behind a credential, or the 401 an unknown session gets."""
    account = state.accounts.find(credential, now=state.now()) if credential else None
    if account is None:
        raise responses.unauthorized()
    return account


def admit(
    state: SimState,
    *,
    headers: Mapping[str, str],
    path: str,
    with_body: bool = True,
    fault_kinds: tuple[str, ...] = faults.REQUEST_KINDS,
) -> Account:
    """Headers, credential and request faults for one grok.com REST call."""
    reject_missing(missing_json_headers(headers, with_body=with_body))
    credential, _ = sso_from(headers)
    account = account_for(state, credential)
    raise_request_fault(state, account=account, path=path, kinds=fault_kinds)
    return account


def raise_request_fault(
    state: SimState, *, account: Account, path: str, kinds: tuple[str, ...]
) -> None:
    """Raise the first armed request fault among `kinds` (only that one is used up)."""
    for kind in kinds:
        fired = state.faults.take(
            kinds=(kind,), credential=account.credential, path=path,
            standing=account.standing_faults,
        )
        if kind in fired:
            raise responses.for_fault(fired[kind], scale=state.scale)
