"""The Cloudflare front also guards WebSocket handshakes (mgw chat, Imagine)."""

from __future__ import annotations

import pytest
from curl_cffi import CurlError
from curl_cffi import requests as curl_requests
from grok_sim.testing import SimHandle


def test_a_websocket_handshake_without_clearance_gets_the_challenge(sim: SimHandle):
    sim.require_clearance()
    url = sim.base_url.replace("http://", "ws://") + "/ws/mgw/"

    with curl_requests.Session() as session, pytest.raises(CurlError) as raised:
        session.ws_connect(url, headers={"User-Agent": "test"})

    assert "Refused WebSocket upgrade: 403" in str(raised.value)
    assert sim.clearance()["challenged"] == {"127.0.0.1": 1}
