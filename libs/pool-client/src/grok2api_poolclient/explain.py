"""What a failed leased call means for a client: HTTP status, error type, code, message.

The gateway renders these as API errors; a media worker puts them in a job's error event,
which a gateway renders later. Messages say what happened and what to do, never the
upstream's own text (it may echo secrets).
"""

from __future__ import annotations

import dataclasses
import time

from . import errors, leases, leasing


@dataclasses.dataclass(frozen=True, slots=True)
class Explained:
    status: int
    type: str
    code: str
    message: str
    retry_after: float | None = None


UPSTREAM_ADVICE = {
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
        "grok.com answered with a Cloudflare challenge through egress {egress}; its clearance "
        "is being refreshed, retry shortly. If this persists, check that egress and the "
        "solver (grok2api egress test {egress}; egress.solver_url), or paste a fresh "
        "clearance (grok2api egress update {egress} --clearance ...)."
    ),
    "upstream_anti_bot": (
        "grok.com rejected the request as automated through egress {egress}; its clearance "
        "is being refreshed, retry shortly. If this persists, route through another egress "
        "or paste a fresh clearance (grok2api egress update {egress} --clearance ...)."
    ),
    "upstream_content_blocked": (
        "grok.com blocked or moderated the content (for images: no final image within "
        "image.image_ws_blocked_seconds); rephrase the request."
    ),
    "upstream_rejected": "grok.com refused the request itself (4xx); check the parameters.",
}

EXHAUSTED_ADVICE = {
    errors.ExhaustedReason.NO_ACCOUNT_OF_TIER: (
        "No account in the pool can serve this model's tier: add accounts "
        "(`grok2api tokens add`)."
    ),
    errors.ExhaustedReason.ALL_COOLING: (
        "Every account that can serve this model is cooling down after upstream rate limits "
        "or repeated upstream failures."
    ),
    errors.ExhaustedReason.NO_QUOTA: (
        "Every account that can serve this model has used up its quota window."
    ),
    errors.ExhaustedReason.ALL_BUSY: (
        "Every account that can serve this model is at its concurrency cap "
        "(token.max_inflight_per_account); retry shortly."
    ),
    errors.ExhaustedReason.NO_ACCOUNT_FOR_PRODUCT: (
        "grok.com refused every account that could serve this model its product (image or "
        "video generation; basic accounts no longer get them): add accounts of a tier that "
        "has it (SuperGrok, `grok2api tokens add`). Refused accounts are tried again after "
        "their next usage refresh (`grok2api tokens refresh`)."
    ),
    errors.ExhaustedReason.NO_TAGGED_ACCOUNT: (
        "This request may only use accounts carrying certain tags (its key's account tags), "
        "and no account in the pool carries any of them (or the conversation it continues "
        "lives on an account without them): tag accounts with one of them (account "
        "management), change the key's account tags, or start a new conversation."
    ),
}


def upstream_failed(exc: leasing.UpstreamFailed) -> Explained:
    verdict = exc.verdict
    # Account problems the client cannot fix surface as 502/503/429, never as its own 401/403.
    if verdict.status == 429:
        status, type_ = 429, "rate_limit_error"
    elif verdict.status == 504:
        status, type_ = 504, "upstream_error"
    elif verdict.code == "upstream_content_blocked":
        status, type_ = 400, "invalid_request_error"
    elif verdict.outcome is leases.Outcome.CHALLENGE:  # the way out, not grok.com: 503
        status, type_ = 503, "upstream_error"
    else:
        status, type_ = 502, "upstream_error"
    advice = UPSTREAM_ADVICE.get(verdict.code, "grok.com failed to answer; retry in a moment.")
    advice = advice.replace("{egress}", exc.egress)
    if exc.committed:
        where = "mid-answer"
    else:
        where = "on 1 account" if exc.accounts == 1 else f"on each of {exc.accounts} accounts"
    message = f"Upstream request failed {where} ({verdict.code}): {advice}"
    return Explained(status, type_, verdict.code, message, verdict.retry_after)


def pool_exhausted(exc: errors.PoolExhausted) -> Explained:
    message = EXHAUSTED_ADVICE.get(exc.reason, f"No account available ({exc.reason}).")
    tags = leases.tag_list(exc.account_tags)
    if tags and exc.reason is errors.ExhaustedReason.NO_TAGGED_ACCOUNT:
        message = message.replace("certain tags", f"the tags {tags}", 1)
    elif tags:
        message = f"No account tagged {tags} is available (only those serve this key). {message}"
    retry_after = None
    if exc.retry_at:
        retry_after = max(0.0, exc.retry_at - time.time())
        message += f" The first one frees up in about {round(retry_after)} s."
    return Explained(429, "rate_limit_error", "no_available_account", message, retry_after)


def explain(exc: BaseException) -> Explained | None:
    """The client-facing meaning of a lease-and-retry failure; None for anything else."""
    if isinstance(exc, leasing.UpstreamFailed):
        return upstream_failed(exc)
    if isinstance(exc, errors.PoolExhausted):
        return pool_exhausted(exc)
    if isinstance(exc, errors.InvalidRequest):
        return Explained(400, "invalid_request_error", "invalid_value", str(exc))
    if isinstance(exc, errors.PoolError):
        message = (f"The token pool could not be reached ({exc}). Retry in a few seconds; "
                   "if this persists, check that the token pool service is running.")
        return Explained(503, "api_error", "pool_unavailable", message)
    return None
