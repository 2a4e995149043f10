"""Egress: grok.com calls leave through network.base_proxy_url, asset downloads
through network.asset_proxy_url (loopback HTTP proxies; the upstream hosts are
never resolved because an HTTP proxy receives the absolute URL)."""

from __future__ import annotations

from grok_web import client as client_mod
from grok_web import options as options_mod
from grok_web_helpers import read_request


def proxy_answering(body: bytes, seen: list[bytes]):
    async def handler(reader, writer):
        request = await read_request(reader)
        seen.append(request.split(b"\r\n", 1)[0])
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()

    return handler


async def test_calls_use_the_base_proxy_and_downloads_the_asset_proxy(raw_server):
    base_seen: list[bytes] = []
    asset_seen: list[bytes] = []
    base_proxy = await raw_server(
        proxy_answering(b'{"remainingQueries":1,"totalQueries":20}', base_seen)
    )
    asset_proxy = await raw_server(proxy_answering(b"asset-bytes", asset_seen))
    opts = options_mod.ClientOptions(
        endpoints=options_mod.Endpoints(
            base_url="http://grok.test", assets_url="http://assets.test"
        ),
        egress=options_mod.Egress(
            base_proxy_url=base_proxy.base_url, asset_proxy_url=asset_proxy.base_url
        ),
    )
    async with client_mod.GrokClient(options=opts) as grok:
        limit = await grok.rate_limits(credential="t", mode="fast")
        data = b"".join(
            [c async for c in grok.download_asset(credential="t", path="users/u/a.jpg")]
        )
    assert limit.remaining == 1
    assert data == b"asset-bytes"
    assert base_seen == [b"POST http://grok.test/rest/rate-limits HTTP/1.1"]
    assert asset_seen == [b"GET http://assets.test/users/u/a.jpg HTTP/1.1"]


async def test_reconfigure_moves_new_calls_to_the_new_egress(raw_server):
    first_seen: list[bytes] = []
    second_seen: list[bytes] = []
    answer = b'{"remainingQueries":1,"totalQueries":20}'
    first = await raw_server(proxy_answering(answer, first_seen))
    second = await raw_server(proxy_answering(answer, second_seen))
    endpoints = options_mod.Endpoints(base_url="http://grok.test")
    opts = options_mod.ClientOptions(
        endpoints=endpoints, egress=options_mod.Egress(base_proxy_url=first.base_url)
    )
    async with client_mod.GrokClient(options=opts) as grok:
        await grok.rate_limits(credential="t", mode="auto")
        grok.reconfigure(
            options=options_mod.ClientOptions(
                endpoints=endpoints,
                egress=options_mod.Egress(base_proxy_url=second.base_url, cf_clearance="cf-2"),
            )
        )
        await grok.rate_limits(credential="t", mode="auto")
        assert grok.options.egress.cf_clearance == "cf-2"
    assert len(first_seen) == 1 and len(second_seen) == 1
