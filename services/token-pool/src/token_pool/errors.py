"""The token-pool service's own errors (pool callers see ``grok2api_poolclient.errors``).

TokenPoolError
└── ConfigurationError   the service cannot start with these settings (names the key)
"""

from __future__ import annotations


class TokenPoolError(Exception):
    """Base of the errors this service raises at start-up."""


class ConfigurationError(TokenPoolError):
    """A setting makes the service unable to run; the message names the key to fix."""
