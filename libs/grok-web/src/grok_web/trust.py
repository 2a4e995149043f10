"""Which certificate authorities upstream TLS trusts.

curl_cffi trusts only the bundle it ships; a TLS-inspecting proxy or a mirror with its own
CA needs another. The setting (``network.ca_bundle``) wins, then the variables other HTTP
clients honour, in this order: ``CURL_CA_BUNDLE`` (curl), ``REQUESTS_CA_BUNDLE``
(requests), ``SSL_CERT_FILE`` (OpenSSL). None of them = the bundled certificates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_VARIABLES = ("CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


class TrustError(ValueError):
    """The configured CA bundle cannot be used."""


def ca_bundle(setting: str = "", *, environ: Mapping[str, str] | None = None) -> str:
    """The CA bundle path upstream connections use ("" = curl_cffi's own). Raises
    :class:`TrustError` naming the source when the chosen path is not a readable file, so
    a typo fails at start-up rather than as a TLS error on every call."""
    env = os.environ if environ is None else environ
    candidates = [("network.ca_bundle", setting)]
    candidates += [(name, env.get(name, "")) for name in ENV_VARIABLES]
    for source, value in candidates:
        path = value.strip()
        if not path:
            continue
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise TrustError(
                f"{source} names {path!r}, which is not a readable file: point it at a PEM "
                "bundle of the CAs to trust, or clear it to use the bundled certificates"
            )
        return path
    return ""
