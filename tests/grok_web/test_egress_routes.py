"""Calls through a given egress: each egress gets its own connections (its proxies) and
presents its own user agent, client hints and clearance cookies, for every kind of call
(REST, upload, asset download, the mgw and Imagine WebSockets); None keeps the settings'
egress. Proxy credentials never reach reprs, errors or logs."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket

import forwarding_proxy
import pytest
from grok_web import ChatRequest, ImagineRequest, errors
from grok_web import client as client_mod
from grok_web import options as options_mod
from grok_web import routes as routes_mod
from grok_web_helpers import collect, make_options
from prometheus_client import REGISTRY

EDGE_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/136.0.0.0 Safari/537.36"
)


@pytest.fixture
async def proxies():
    started: list[forwarding_proxy.ForwardingProxy] = []

    async def start(**credentials: str) -> forwarding_proxy.ForwardingProxy:
        proxy = await forwarding_proxy.start(**credentials)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        await proxy.close()


def headers_at(sim, path: str) -> list[dict[str, str]]:
    return [{k.lower(): v for k, v in r["headers"].items()} for r in sim.requests(path=path)]


@pytest.mark.parametrize("protocol", ["mgw", "rest"])
async def test_each_egress_has_its_own_exit_and_presents_its_own_fingerprint(
    sim, proxies, protocol
) -> None:
    proxy_a, assets_a, proxy_b = await proxies(), await proxies(), await proxies()
    eu = options_mod.egress(
        egress_id="e-1", name="eu-1", proxy_url=proxy_a.url, asset_proxy_url=assets_a.url,
        browser="edge101", user_agent=EDGE_UA,
        clearance_cookies="cf_clearance=eu-clearance-value; __cf_bm=eu-bm-value",
    )  # fmt: skip
    us = options_mod.egress(
        egress_id="e-2", name="us-1", proxy_url=proxy_b.url, browser="chrome136",
        user_agent=CHROME_UA, clearance_cookies="cf_clearance=us-clearance-value",
    )  # fmt: skip
    options = make_options(sim.base_url, chat_protocol=protocol)
    async with client_mod.GrokClient(options=options) as grok:
        await collect(grok.chat(credential="sim-eu", request=ChatRequest(message="hi"), egress=eu))
        uploaded = await grok.upload_file(
            credential="sim-eu", file_name="a.png", mime_type="image/png", content=b"\x89PNG",
            egress=eu,
        )  # fmt: skip
        await collect(grok.download_asset(credential="sim-eu", path=uploaded.file_uri, egress=eu))
        await collect(grok.imagine(
            credential="sim-eu", request=ImagineRequest(prompt="a lighthouse", count=1), egress=eu
        ))  # fmt: skip
        await grok.rate_limits(credential="sim-us", mode="auto", egress=us)
        await grok.rate_limits(credential="sim-default", mode="auto")  # the settings' egress

    # WebSockets (mgw chat, Imagine) tunnel through the proxy with CONNECT
    tunnels = [line for line in proxy_a.seen if line.startswith("CONNECT ")]
    assert len(tunnels) == (2 if protocol == "mgw" else 1)
    if protocol == "rest":
        assert "POST /rest/app-chat/conversations/new" in proxy_a.seen
    assert any("upload-file" in p for p in proxy_a.paths())
    assert not any("rate-limits" in p for p in proxy_a.paths())
    assert len(assets_a.paths()) == 1 and uploaded.file_uri.lstrip("/") in assets_a.paths()[0]
    assert proxy_b.seen == ["POST /rest/rate-limits"]
    handshakes = [r for r in sim.requests(path="/ws/") if r["method"] == "GET"]
    assert len(handshakes) == len(tunnels)
    for record in handshakes:
        headers = {k.lower(): v for k, v in record["headers"].items()}
        assert "sso=sim-eu" in headers["cookie"] and "__cf_bm=eu-bm-value" in headers["cookie"]
        assert headers["user-agent"] == EDGE_UA

    for record in sim.requests():
        headers = {k.lower(): v for k, v in record["headers"].items()}
        cookie = headers.get("cookie", "")
        if "sso=sim-eu" in cookie:
            assert headers["user-agent"] == EDGE_UA
            assert "cf_clearance=eu-clearance-value; __cf_bm=eu-bm-value" in cookie
            if "sec-ch-ua" in headers:
                assert '"Microsoft Edge";v="131"' in headers["sec-ch-ua"]
                assert headers["sec-ch-ua-platform"] == '"Windows"'
        elif "sso=sim-us" in cookie:
            assert headers["user-agent"] == CHROME_UA
            assert cookie.endswith("; cf_clearance=us-clearance-value")
            assert '"Google Chrome";v="136"' in headers["sec-ch-ua"]
        elif "sso=sim-default" in cookie:
            assert headers["user-agent"] == options_mod.DEFAULT_USER_AGENT
            assert "cf_clearance" not in cookie
    seen = {c.split(";")[0] for r in sim.requests() for c in [r["headers"].get("cookie", "")]}
    assert {"sso=sim-eu", "sso=sim-us", "sso=sim-default"} <= seen


async def test_clearance_cookies_and_the_settings_cookie_combine_without_duplicates() -> None:
    both = options_mod.Egress(cf_clearance="settings", clearance_cookies="__cf_bm=b")
    assert both.clearance() == "cf_clearance=settings; __cf_bm=b"
    pooled = options_mod.Egress(cf_clearance="settings", clearance_cookies="cf_clearance=p")
    assert pooled.clearance() == "cf_clearance=p"
    assert options_mod.Egress().clearance() == ""


async def test_socks_proxies_resolve_names_on_the_proxy_side() -> None:
    egress = options_mod.egress(proxy_url="socks5://u:p@proxy:1080")
    assert egress.base_proxy_url == "socks5h://u:p@proxy:1080"
    assert egress.browser == "chrome136" and egress.user_agent == options_mod.DEFAULT_USER_AGENT


async def test_a_proxy_with_credentials_never_shows_in_reprs_errors_or_logs(caplog) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the proxy is dead
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://proxyuser:s3cret-pw@127.0.0.1:{port}"
    egress = options_mod.egress(
        egress_id="e-9", name="dead-1", proxy_url=url, clearance_cookies="cf_clearance=cf-val-123"
    )
    options = make_options("http://grok.test")
    caplog.set_level(logging.INFO)
    async with client_mod.GrokClient(options=options) as grok:
        with pytest.raises(errors.UpstreamUnavailable) as raised:
            await grok.rate_limits(credential="sso-token-1", mode="auto", egress=egress)
    shown = [repr(egress), repr(dataclasses.replace(options, egress=egress)),
             str(raised.value), caplog.text]  # fmt: skip
    for text in shown:
        assert "s3cret-pw" not in text and "proxyuser" not in text and "cf-val-123" not in text
        assert str(port) not in text
    assert "egress=dead-1" in caplog.text
    assert raised.value.blame == "transient"


async def test_routes_are_bounded_and_a_refreshed_egress_replaces_its_old_route() -> None:
    base = make_options("http://grok.test")
    routes = routes_mod.Routes(capacity=2)
    first = routes.take(base=base, egress=options_mod.egress(egress_id="a", name="a"))
    routes.give_back(first)
    again = routes.take(base=base, egress=options_mod.egress(egress_id="a", name="a"))
    assert again is first  # same content, same connections
    refreshed = options_mod.egress(egress_id="a", name="a", clearance_cookies="cf_clearance=n")
    newer = routes.take(base=base, egress=refreshed)
    assert newer is not first and len(routes) == 1
    await asyncio.sleep(0)
    assert not first.ctx.transport.closed  # a call still uses it
    routes.give_back(first)  # its last call ends: its connections close
    await asyncio.sleep(0)
    assert first.ctx.transport.closed
    b = routes.take(base=base, egress=options_mod.egress(egress_id="b", name="b"))
    routes.give_back(b)
    c = routes.take(base=base, egress=options_mod.egress(egress_id="c", name="c"))
    assert len(routes) == 2  # the idle least recently used one (b) went; "a" is busy
    await asyncio.sleep(0)
    assert b.ctx.transport.closed
    assert not newer.ctx.transport.closed and not c.ctx.transport.closed
    await routes.aclose()
    assert newer.ctx.transport.closed and c.ctx.transport.closed


async def test_the_client_reuses_an_egress_route_and_keeps_none_on_the_settings_egress(
    sim,
) -> None:
    egress = options_mod.egress(egress_id="a", name="route-a")
    labels = {"operation": "usage", "outcome": "ok", "egress": "route-a"}
    before = REGISTRY.get_sample_value("grok2api_upstream_requests_total", labels) or 0.0
    async with client_mod.GrokClient(options=make_options(sim.base_url)) as grok:
        await grok.rate_limits(credential="sim-x", mode="auto", egress=egress)
        await grok.rate_limits(credential="sim-x", mode="auto", egress=egress)
        await grok.rate_limits(credential="sim-x", mode="auto")
        assert len(grok._routes) == 1
        # the settings' own egress passed explicitly is the default route, not a new one
        await grok.rate_limits(credential="sim-x", mode="auto", egress=grok.options.egress)
        assert len(grok._routes) == 1
    after = REGISTRY.get_sample_value("grok2api_upstream_requests_total", labels)
    assert after == before + 2  # the calls through the egress, labelled with its name
