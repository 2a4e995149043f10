"""The single place where upstream answers and third-party exceptions become
:mod:`grok_web.errors` exceptions.

Callers raise what these functions return with ``raise translate.x(...) from exc``
so the original cause stays chained. Upstream text is cut to a short excerpt and
scrubbed of anything that looks like a credential before it reaches a message.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from grok_web import errors

_EXCERPT_CHARS = 160

INVALID_CREDENTIAL_MARKERS = (
    "invalid-credentials",
    "failed to look up session id",
    "bad-credentials",
    "blocked-user",
    "user is blocked",
    "email-domain-rejected",
    "session not found",
    "account suspended",
    "token revoked",
    "token expired",
    "not logged in",
    "unauthenticated",
)
CHALLENGE_MARKERS = ("just a moment", "challenge-platform", "__cf_chl", "cf-chl-")
RATE_LIMIT_MARKERS = ("too many requests", "rate limit", "rate_limit", "usage limit", "usage quota")
ANTI_BOT_MARKERS = ("anti-bot", "anti_bot")
# An Imagine in-band error saying the product is not offered to this account (2026: basic
# accounts lost image and video generation). Conservative on purpose: each marker names the
# feature, the account or the plan, so a bare "not available" (an outage), a usage-limit
# message that advertises an upgrade (checked first: rate limited) or a content refusal
# never matches; anything else stays what ``from_inband`` makes of it.
PRODUCT_UNAVAILABLE_MARKERS = (
    "feature_not_available",
    "feature-not-available",
    "feature not available",
    "feature is not available",
    "not available for your account",
    "not available to your account",
    "not available on your plan",
    "not available for your plan",
    "not available on your current plan",
    "not included in your plan",
    "requires a supergrok",
    "requires supergrok",
    "supergrok subscription required",
)

_HTTP_STATUS = re.compile(r"\b([45]\d\d)\b")
_SECRETISH = re.compile(
    r"(sso(?:-rw)?=)[^;\s\"']+|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{4,}|cf_clearance=[^;\s\"']+",
    re.IGNORECASE,
)


def scrub(text: str, *, secrets: Iterable[str] = ()) -> str:
    """Return a short excerpt of ``text`` with cookies, JWTs and ``secrets`` removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SECRETISH.sub("***", text)
    text = " ".join(text.split())
    return text[:_EXCERPT_CHARS]


def from_status(
    *,
    status: int,
    body: bytes,
    content_type: str = "",
    retry_after: str | None = None,
    secrets: Iterable[str] = (),
) -> errors.UpstreamError:
    """Classify a non-2xx HTTP answer (status, body, a few headers)."""
    text = body.decode("utf-8", "replace")
    lowered = text.lower()
    excerpt = scrub(text, secrets=secrets)
    message = f"upstream status={status} body={excerpt!r}"
    is_json = "json" in content_type.lower() or lowered.lstrip().startswith("{")
    if status in (400, 401, 403) and _has(lowered, INVALID_CREDENTIAL_MARKERS):
        return errors.InvalidCredential(message, status=status)
    if status == 401:
        return errors.InvalidCredential(message, status=status)
    if status == 403:
        if not text.strip() or _has(lowered, CHALLENGE_MARKERS) or not is_json:
            return errors.CloudflareChallenge(message, status=status)
        if _has(lowered, ANTI_BOT_MARKERS):
            return errors.AntiBotRejected(message, status=status)
        return errors.Forbidden(message, status=status)
    if status == 429:
        return errors.RateLimited(
            message, status=status, retry_after=parse_retry_after(retry_after)
        )
    if status >= 500:
        return errors.UpstreamUnavailable(message, status=status)
    if status == 404:
        return errors.NotFound(message, status=status)
    if _has(lowered, RATE_LIMIT_MARKERS):
        return errors.RateLimited(message, status=status)
    return errors.RequestRejected(message, status=status)


def from_inband(error: Any, *, secrets: Iterable[str] = ()) -> errors.UpstreamError:
    """Classify an in-band stream error: ``{"code", "message"}``, a string, or similar."""
    code, raw = _code_and_message(error)
    lowered = raw.lower()
    message = f"upstream in-band error code={code} message={scrub(raw, secrets=secrets)!r}"
    if code == 7 or _has(lowered, ANTI_BOT_MARKERS):
        return errors.AntiBotRejected(message, code=code)
    if code == 8 or _has(lowered, RATE_LIMIT_MARKERS):
        return errors.RateLimited(message, code=code)
    if code == 16 or _has(lowered, INVALID_CREDENTIAL_MARKERS):
        return errors.InvalidCredential(message, code=code)
    if _has(lowered, ("moderat", "content policy")):
        return errors.ContentBlocked(message, code=code)
    return errors.UpstreamUnavailable(message, code=code)


def from_media_inband(error: Any, *, secrets: Iterable[str] = ()) -> errors.UpstreamError:
    """``from_inband`` for a media product's own stream (Imagine): an error that the generic
    rules leave unclassified (or call moderation) but that names a feature the account lacks
    (``PRODUCT_UNAVAILABLE_MARKERS``) is :class:`errors.ProductUnavailable`."""
    generic = from_inband(error, secrets=secrets)
    if not isinstance(generic, errors.UpstreamUnavailable | errors.ContentBlocked):
        return generic  # rate limited, anti-bot, invalid credential: those rules win
    code, raw = _code_and_message(error)
    if not _has(raw.lower(), PRODUCT_UNAVAILABLE_MARKERS):
        return generic
    excerpt = scrub(raw, secrets=secrets)
    message = f"upstream refused the product in-band code={code} message={excerpt!r}"
    return errors.ProductUnavailable(message, code=code)


def from_upload_error(error: Any, *, secrets: Iterable[str] = ()) -> errors.UpstreamError:
    """Classify an upload v2 ``terminalError`` (any non-empty value, §9.2): quota and
    credential wording keep their meaning, anything else is
    :class:`errors.UploadRejected`."""
    code, raw = _code_and_message(error)
    lowered = raw.lower()
    message = f"upstream rejected the upload code={code} error={scrub(raw, secrets=secrets)!r}"
    if _has(lowered, RATE_LIMIT_MARKERS):
        return errors.RateLimited(message, code=code)
    if _has(lowered, INVALID_CREDENTIAL_MARKERS):
        return errors.InvalidCredential(message, code=code)
    return errors.UploadRejected(message, code=code)


@contextlib.contextmanager
def product_refusals() -> Iterator[None]:
    """Wrap one media operation (image generation or edit, video, upscale): a policy refusal
    (:class:`errors.Forbidden`, a 403 with a JSON body; never a Cloudflare or anti-bot page)
    is raised as :class:`errors.ProductUnavailable`, the original chained as its cause.
    It may enclose an async generator's loop, ``yield`` statements included."""
    try:
        yield
    except errors.ProductUnavailable:
        raise
    except errors.Forbidden as exc:
        raise errors.ProductUnavailable(
            f"product refused to this account: {exc.message}", status=exc.status, code=exc.code
        ) from exc


def from_grpc(*, status: int, message: str, secrets: Iterable[str] = ()) -> errors.UpstreamError:
    """Classify a non-zero gRPC status from a gRPC-web trailer (§14.1 mapping)."""
    text = f"upstream grpc-status={status} message={scrub(message, secrets=secrets)!r}"
    if status == 16:
        return errors.InvalidCredential(text, code=status)
    if status == 7:
        return errors.Forbidden(text, code=status)
    if status == 8:
        return errors.RateLimited(text, code=status)
    if status == 5:
        return errors.NotFound(text, code=status)
    return errors.UpstreamUnavailable(text, code=status)


def from_transport(exc: BaseException, *, secrets: Iterable[str] = ()) -> errors.UpstreamError:
    """Classify a transport exception (curl_cffi, OS errors) raised while talking upstream."""
    return errors.UpstreamUnavailable(
        f"upstream transport error {type(exc).__name__}: {scrub(str(exc), secrets=secrets)}"
    )


def from_ws_handshake(
    exc: BaseException,
    *,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> errors.UpstreamError:
    """Classify a failed WebSocket upgrade; curl reports the HTTP status in its text.

    curl drops the refusal's body, so ``headers`` (the refusal's response headers, names
    lower-cased) stand in for it: a 403 declared ``application/json`` without Cloudflare's
    ``cf-mitigated`` is the upstream's policy refusal (:class:`errors.Forbidden`), anything
    else a challenge; a 429 keeps its ``Retry-After``.
    """
    text = str(exc)
    match = _HTTP_STATUS.search(text)
    if match is None:
        return from_transport(exc, secrets=secrets)
    status = int(match.group(1))
    found = headers or {}
    content_type = found.get("content-type", "")
    if status == 403 and "json" in content_type.lower() and "cf-mitigated" not in found:
        return errors.Forbidden(f"upstream status=403 ({content_type}) on upgrade", status=403)
    return from_status(
        status=status,
        body=b"",
        content_type=content_type,
        retry_after=found.get("retry-after"),
        secrets=secrets,
    )


def malformed(what: str, *, exc: BaseException | None = None) -> errors.MalformedResponse:
    """A body that does not parse as the protocol documents."""
    detail = f" ({type(exc).__name__})" if exc is not None else ""
    return errors.MalformedResponse(f"malformed upstream response: {what}{detail}")


def json_object(body: bytes, *, what: str) -> dict[str, Any]:
    """Decode a JSON object body or raise MalformedResponse naming ``what``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise malformed(f"{what} body is not JSON", exc=exc) from exc
    if not isinstance(data, dict):
        raise malformed(f"{what} body is not a JSON object")
    return data


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds only; dates are ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


def json_error_code(body: bytes) -> int | None:
    """The numeric ``code`` of a JSON error body, if there is one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    code, _ = _code_and_message(data.get("error", data) if isinstance(data, Mapping) else data)
    return code


def _code_and_message(error: Any) -> tuple[int | None, str]:
    if isinstance(error, Mapping):
        code = error.get("code")
        raw = error.get("message") or error.get("error") or error.get("detail") or ""
        if isinstance(raw, Mapping):
            return _code_and_message(raw)
        try:
            number = int(code) if code is not None else None
        except (TypeError, ValueError):
            number = None
            raw = f"{code} {raw}"
        return number, str(raw)
    return None, str(error)


def _has(text: str, markers: Iterable[str]) -> bool:
    return any(marker in text for marker in markers)
