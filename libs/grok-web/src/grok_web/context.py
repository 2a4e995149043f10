"""What every operation needs: options, the transport and the header factory."""

from __future__ import annotations

import dataclasses

from grok_web import headers as headers_mod
from grok_web import options as options_mod
from grok_web import transport as transport_mod


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """Shared, immutable wiring passed to the operation modules."""

    options: options_mod.ClientOptions
    transport: transport_mod.Transport
    headers: headers_mod.HeaderFactory

    def url(self, path: str) -> str:
        """Absolute grok.com URL for ``path`` (which starts with '/')."""
        return self.options.endpoints.base_url + path

    def page(self, path: str = "/") -> str:
        """A grok.com page URL used as Referer."""
        return self.options.endpoints.base_url + path

    @property
    def origin(self) -> str:
        """The grok.com origin used as Origin."""
        return self.options.endpoints.base_url
