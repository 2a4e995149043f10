"""The pool client's exception tree.

PoolError
├── PoolExhausted      no account can be leased now (reason + earliest retry time)
├── AccountNotFound    an account id the pool does not hold
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

    @classmethod
    def parse(cls, value: str) -> ExhaustedReason:
        """The reason named ``value``; one this client does not know (a newer pool's) reads as
        ``no_account_of_tier`` rather than failing the call."""
        try:
            return cls(value)
        except ValueError:
            return cls.NO_ACCOUNT_OF_TIER


class PoolExhausted(PoolError):
    def __init__(self, message: str, *, reason: ExhaustedReason, retry_at: float | None = None):
        super().__init__(message)
        self.reason = reason
        self.retry_at = retry_at  # unix seconds of the earliest moment an account frees up


class AccountNotFound(PoolError):
    pass


class InvalidRequest(PoolError):
    pass


class PoolUnavailable(PoolError):
    pass
