"""The pool client's exception tree.

PoolError
├── PoolExhausted      no account can be leased now (reason + earliest retry time)
├── AccountNotFound    an account id the pool does not hold
├── EgressNotFound     an egress id or name the pool does not hold
├── InvalidRequest     bad arguments (unknown model, bad credential format, …)
└── PoolUnavailable    the pool cannot be reached (transport failure)
"""

from __future__ import annotations

import enum


class PoolError(Exception):
    """Base of every error a ``PoolClient`` raises."""


class ExhaustedReason(enum.StrEnum):
    NO_ACCOUNT_OF_TIER = "no_account_of_tier"
    ALL_COOLING = "all_cooling"
    ALL_BUSY = "all_busy"  # every eligible account is at its concurrency cap
    NO_QUOTA = "no_quota"
    # the only accounts left were refused the model's product (image, video) by the upstream
    NO_ACCOUNT_FOR_PRODUCT = "no_account_for_product"
    # the acquire was restricted to account tags (``account_tags``) and no account carries
    # any of them (or its pinned account does not): a configuration problem, not a wait
    NO_TAGGED_ACCOUNT = "no_tagged_account"

    @classmethod
    def parse(cls, value: str) -> ExhaustedReason:
        """The reason named ``value``; one this client does not know (a newer pool's) reads as
        ``no_account_of_tier`` rather than failing the call."""
        try:
            return cls(value)
        except ValueError:
            return cls.NO_ACCOUNT_OF_TIER


class PoolExhausted(PoolError):
    def __init__(
        self,
        message: str,
        *,
        reason: ExhaustedReason,
        retry_at: float | None = None,
        account_tags: tuple[str, ...] = (),
    ):
        super().__init__(message)
        self.reason = reason
        self.retry_at = retry_at  # unix seconds of the earliest moment an account frees up
        # the tags the refused acquire was restricted to (``PoolClient.acquire``); () = none
        self.account_tags = account_tags


class AccountNotFound(PoolError):
    pass


class EgressNotFound(PoolError):
    pass


class InvalidRequest(PoolError):
    pass


class PoolUnavailable(PoolError):
    pass
