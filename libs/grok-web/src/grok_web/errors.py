"""The one exception tree of grok_web.

Every failure of an upstream call surfaces as one of these classes; third-party
exceptions (curl_cffi, orjson) are translated in exactly one place,
:mod:`grok_web.translate`, with the original exception chained as ``__cause__``.

::

    GrokWebError                      blame
    ├── UpstreamError                 (abstract; one of account | egress | transient)
    │   ├── InvalidCredential         account    401, invalid-credential markers, blocked user
    │   ├── Forbidden                 account    403 with a JSON body (policy refusal)
    │   │   └── ProductUnavailable    account    a media call refused to this account (403
    │   │                                        JSON, or an in-band "feature not available")
    │   ├── RateLimited               account    429, in-band code 8, usage-limit messages
    │   ├── ContentBlocked            account    image moderated / no final image in time
    │   ├── CloudflareChallenge       egress     403 HTML / empty / challenge markers
    │   ├── AntiBotRejected           egress     in-band code 7 / "anti-bot"
    │   ├── UpstreamUnavailable       transient  5xx, transport errors, connection resets
    │   ├── StreamIdleTimeout         transient  no byte for timeout.stream_idle_timeout
    │   │   └── FirstByteTimeout      transient  no first byte within timeout.first_byte_timeout
    │   ├── EmptyStream               transient  the stream ended without any content
    │   ├── MalformedResponse         transient  a body that does not parse as documented
    │   └── RequestRejected           transient  other 4xx (400, 404, …)
    │       ├── NotFound              transient  404 (asset or post gone)
    │       └── UploadRejected        transient  upload v2 answered with a terminalError
    └── UsageError                    caller     the caller asked for something impossible
        ├── UnknownModel                         model id not in the catalogue
        └── AssetTooLarge                        download exceeded the caller's size cap

``blame`` tells callers what to do from the type alone: ``account`` → release the
lease with that outcome and switch account (``RateLimited.retry_after`` says how
long to cool it), ``egress`` → refresh clearance / rotate the proxy and retry,
``transient`` → retry (another account is fine). ``UsageError`` is never retried.

Messages never contain credentials: they are built from status codes and short,
credential-scrubbed excerpts of upstream bodies only.
"""

from __future__ import annotations

from typing import ClassVar, Literal

Blame = Literal["account", "egress", "transient", "caller"]


class GrokWebError(Exception):
    """Base of every grok_web exception."""

    blame: ClassVar[Blame] = "transient"

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status}, code={self.code})"


class UpstreamError(GrokWebError):
    """The upstream (or the way to it) failed; ``blame`` says whose fault it is."""


class InvalidCredential(UpstreamError):
    """The sso credential is expired, revoked or the user is blocked."""

    blame: ClassVar[Blame] = "account"


class Forbidden(UpstreamError):
    """A 403 with a JSON body: the account may not do this (not a clearance issue)."""

    blame: ClassVar[Blame] = "account"


class ProductUnavailable(Forbidden):
    """A media product (Imagine images, image edits, video) is not offered to this account.

    Since 2026 the upstream refuses image and video generation to basic accounts that still
    chat fine. Raised only by the media operations (``imagine``, ``media``) for a policy
    refusal (403 with a JSON body, or an Imagine in-band error matching
    ``translate.PRODUCT_UNAVAILABLE_MARKERS``); the pool stops picking the account for that
    product until its next usage refresh. Chat never raises it.
    """


class RateLimited(UpstreamError):
    """The account's quota for this mode is exhausted.

    ``retry_after`` is in seconds (from a ``Retry-After`` header when the upstream
    sends one, else None: the caller applies its own cooldown).
    """

    blame: ClassVar[Blame] = "account"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ContentBlocked(UpstreamError):
    """Generated media was moderated, or a preview never turned into a final image."""

    blame: ClassVar[Blame] = "account"


class CloudflareChallenge(UpstreamError):
    """A Cloudflare challenge page: the egress needs fresh clearance or another proxy."""

    blame: ClassVar[Blame] = "egress"


class AntiBotRejected(UpstreamError):
    """In-band anti-bot rejection (code 7): refresh clearance/statsig, then retry."""

    blame: ClassVar[Blame] = "egress"


class UpstreamUnavailable(UpstreamError):
    """5xx or a transport failure (connection refused/reset, HTTP/2 stream error)."""

    blame: ClassVar[Blame] = "transient"


class StreamIdleTimeout(UpstreamError):
    """The stream sent nothing for longer than the configured idle timeout."""

    blame: ClassVar[Blame] = "transient"


class FirstByteTimeout(StreamIdleTimeout):
    """The upstream sent nothing (no headers, or no body byte) within the first-byte timeout."""


class EmptyStream(UpstreamError):
    """The stream ended without any content."""

    blame: ClassVar[Blame] = "transient"


class MalformedResponse(UpstreamError):
    """The upstream answered with something that does not parse as documented."""

    blame: ClassVar[Blame] = "transient"


class RequestRejected(UpstreamError):
    """Any other 4xx: the upstream refused the request itself."""

    blame: ClassVar[Blame] = "transient"


class NotFound(RequestRejected):
    """404: the asset, post or video does not exist (any more)."""


class UploadRejected(RequestRejected):
    """Upload v2 (§9.2) answered 200 with a non-empty ``terminalError``: the file was not
    stored. ``code`` is the error's numeric code when it carried one."""


class UsageError(GrokWebError):
    """The caller asked for something this library cannot do."""

    blame: ClassVar[Blame] = "caller"


class UnknownModel(UsageError, LookupError):
    """The model id is not in the catalogue."""


class AssetTooLarge(UsageError):
    """An asset download exceeded the caller's ``max_bytes``."""
