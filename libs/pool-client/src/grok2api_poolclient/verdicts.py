"""What an upstream failure means: its ``Verdict`` (the outcome the pool records, the
canonical status retry rules are written in, a stable code), from the exception alone."""

from __future__ import annotations

import asyncio
import dataclasses

from grok_web import errors as grok_errors

from . import leases


@dataclasses.dataclass(frozen=True, kw_only=True)
class Verdict:
    """What an upstream failure means for the account and for the request."""

    outcome: leases.Outcome
    status: int
    """HTTP-like status of the failure, matched against ``retry_status_codes``."""
    code: str
    """Stable machine-readable code for API errors (``upstream_rate_limited``, …)."""
    retry_after: float | None = None


_Outcome = leases.Outcome
# Answers that say this account may not (or may no longer) do this; the pool records them
# (invalid, cooling, refused the product). Another account is tried at once, without
# spending ``max_retry``: the failed account is excluded, so a request meets each at most
# once, within ``budget``.
ACCOUNT_REJECTIONS = frozenset(
    {
        _Outcome.INVALID_CREDENTIAL,
        _Outcome.FORBIDDEN,
        _Outcome.PRODUCT_REFUSED,
        _Outcome.RATE_LIMITED,
    }
)
# First match wins: a subclass comes before its base (ProductUnavailable is a Forbidden).
_BY_CLASS: tuple[tuple[type[BaseException], leases.Outcome, int, str], ...] = (
    (grok_errors.InvalidCredential, _Outcome.INVALID_CREDENTIAL, 401, "upstream_unauthorized"),
    (grok_errors.CloudflareChallenge, leases.Outcome.CHALLENGE, 403, "upstream_challenge"),
    (grok_errors.AntiBotRejected, leases.Outcome.CHALLENGE, 403, "upstream_anti_bot"),
    (
        grok_errors.ProductUnavailable,
        _Outcome.PRODUCT_REFUSED,
        403,
        "upstream_product_unavailable",
    ),
    (grok_errors.Forbidden, leases.Outcome.FORBIDDEN, 403, "upstream_forbidden"),
    (grok_errors.RateLimited, leases.Outcome.RATE_LIMITED, 429, "upstream_rate_limited"),
    (grok_errors.ContentBlocked, leases.Outcome.UPSTREAM_ERROR, 422, "upstream_content_blocked"),
    (grok_errors.FirstByteTimeout, _Outcome.TRANSIENT, 504, "upstream_first_byte_timeout"),
    (grok_errors.StreamIdleTimeout, leases.Outcome.TRANSIENT, 504, "upstream_idle_timeout"),
    (grok_errors.EmptyStream, leases.Outcome.TRANSIENT, 502, "upstream_empty_stream"),
    (grok_errors.MalformedResponse, leases.Outcome.TRANSIENT, 502, "upstream_malformed"),
    (grok_errors.UpstreamUnavailable, leases.Outcome.TRANSIENT, 502, "upstream_unavailable"),
    (grok_errors.RequestRejected, leases.Outcome.UPSTREAM_ERROR, 400, "upstream_rejected"),
    (grok_errors.UsageError, leases.Outcome.UPSTREAM_ERROR, 400, "upstream_usage_error"),
)


def classify(exc: BaseException) -> Verdict:
    """Map an exception raised by an upstream call to its verdict (one place for all callers).

    The status is the class's canonical one (what ``retry_status_codes`` is written in), so a
    Cloudflare page is 403 and an in-band rate limit is 429 whatever the HTTP status was.
    """
    for cls, outcome, status, code in _BY_CLASS:
        if isinstance(exc, cls):
            retry_after = getattr(exc, "retry_after", None)
            return Verdict(outcome=outcome, status=status, code=code, retry_after=retry_after)
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return Verdict(outcome=leases.Outcome.CANCELLED, status=499, code="client_cancelled")
    return Verdict(outcome=leases.Outcome.UPSTREAM_ERROR, status=500, code="upstream_error")
