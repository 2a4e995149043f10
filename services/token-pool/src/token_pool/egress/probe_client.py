"""The grok_web client egress tests fetch with: the pool's own when it was given one, else
one built from the settings on first use and closed with the pool."""

from __future__ import annotations

from collections.abc import Callable

from grok2api_settings import Settings
from grok_web import client as grok_client
from grok_web import options as grok_options


class ProbeClient:
    def __init__(
        self, *, settings: Callable[[], Settings], given: grok_client.GrokClient | None
    ) -> None:
        self._settings = settings
        self._given = given
        self._own: grok_client.GrokClient | None = None

    def get(self) -> grok_client.GrokClient:
        if self._given is not None:
            return self._given
        if self._own is None:
            options = grok_options.ClientOptions.from_settings(self._settings())
            self._own = grok_client.GrokClient(options=options)
        return self._own

    async def aclose(self) -> None:
        """Close the client built here, if any (a given one belongs to its giver)."""
        if self._own is not None:
            await self._own.aclose()
            self._own = None
