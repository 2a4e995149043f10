"""HTTP/1.1 protocol for uvicorn that declines `Upgrade: h2c` offers and keeps the body.

curl_cffi with Chrome impersonation over plain `http://` offers an h2c upgrade
(`Connection: Upgrade, HTTP2-Settings`, `Upgrade: h2c`). A server may ignore such an offer
and answer in HTTP/1.1, which is what h11 does; uvicorn's httptools protocol instead stops
parsing at the headers and loses the request body. Renaming the `Upgrade: h2c` header
before parsing makes httptools treat it as an ordinary request (the recorder then shows it
as `x-declined-upgrade`). WebSocket upgrades are untouched.
"""

from __future__ import annotations

import re

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_H2C = re.compile(rb"(?im)^upgrade:[ \t]*h2c[ \t]*\r\n")


class DecliningH2CHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that answers h2c upgrade offers in HTTP/1.1."""

    def data_received(self, data: bytes) -> None:
        if b"h2c" in data:
            data = _H2C.sub(b"x-declined-upgrade: h2c\r\n", data)
        super().data_received(data)
