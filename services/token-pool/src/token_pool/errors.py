"""The token-pool service's own errors (pool callers see ``grok2api_poolclient.errors``).

TokenPoolError
└── ConfigurationError   the service cannot start with these settings (names the key)
    └── ListenError      the gRPC server cannot listen on its address (taken by another
                         process, or not an address of this host): TOKEN_POOL_ADDR
"""

from __future__ import annotations


class TokenPoolError(Exception):
    """Base of the errors this service raises at start-up."""


class ConfigurationError(TokenPoolError):
    """A setting makes the service unable to run; the message names the key to fix."""


class ListenError(ConfigurationError):
    """The gRPC server cannot listen on its address; another process may hold the port."""
