"""Remote image URLs: only public addresses by default, every redirect hop vetted again, and
curl pinned to the address that was vetted. DNS and "public" are stood in for: every real
connection here stays on loopback."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from gateway import errors
from gateway.chat import attachments
from gateway.chat.attachments import Fetcher, Limits
from gateway_fakes import serve

LIMITS = Limits(max_bytes=10_000, fetch_timeout=5.0)
PARAM = "messages.0.content.0.image_url.url"


def _resolver(table: dict[str, list[str]]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def _redirecting_server(seen_hosts: list[str]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host = dict(scope["headers"])[b"host"].decode()
        seen_hosts.append(host)
        port = host.rsplit(":", 1)[1]
        if scope["path"] == "/to-private":
            headers = [(b"location", f"http://internal.test:{port}/secret".encode())]
            await send({"type": "http.response.start", "status": 302, "headers": headers})
        elif scope["path"] == "/to-public":
            headers = [(b"location", b"/cat.png")]
            await send({"type": "http.response.start", "status": 301, "headers": headers})
        else:
            headers = [(b"content-type", b"image/png")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"\x89PNG-cat"})
            return
        await send({"type": "http.response.body", "body": b""})

    return app


async def test_connects_to_the_vetted_address_and_follows_a_vetted_redirect() -> None:
    seen: list[str] = []
    async with serve(_redirecting_server(seen)) as base:
        port = urllib.parse.urlsplit(base).port
        fetcher = Fetcher(resolve=_resolver({"cdn.test": ["127.0.0.1"]}),
                          is_public=lambda address: address == "127.0.0.1")
        try:
            data, mime = await fetcher.fetch(f"http://cdn.test:{port}/to-public", param=PARAM,
                                             limits=LIMITS)
        finally:
            await fetcher.aclose()
    # cdn.test exists only in the stand-in resolver: curl reached the server through the pin
    assert (data, mime) == (b"\x89PNG-cat", "image/png")
    assert seen == [f"cdn.test:{port}", f"cdn.test:{port}"]


async def test_a_redirect_to_a_private_address_is_refused_before_connecting() -> None:
    seen: list[str] = []
    async with serve(_redirecting_server(seen)) as base:
        port = urllib.parse.urlsplit(base).port
        fetcher = Fetcher(
            resolve=_resolver({"cdn.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]}),
            is_public=lambda address: address == "127.0.0.1",
        )
        try:
            with pytest.raises(errors.InvalidRequest) as caught:
                await fetcher.fetch(f"http://cdn.test:{port}/to-private", param=PARAM,
                                    limits=LIMITS)
        finally:
            await fetcher.aclose()
    assert "private or local address" in caught.value.message and caught.value.param == PARAM
    assert seen == [f"cdn.test:{port}"]  # the internal host was never asked


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.1.2.3"], ["169.254.169.254"], ["::1"], ["fd00::1"],
     ["::ffff:192.168.0.1"], ["100.64.0.1"], ["224.0.0.1"], ["93.184.216.34", "192.168.1.1"], []],
)
async def test_local_private_and_mixed_answers_are_refused(addresses: list[str]) -> None:
    fetcher = Fetcher(resolve=_resolver({"img.test": addresses}))
    with pytest.raises(errors.InvalidRequest, match="private or local address"):
        await fetcher.fetch("https://img.test/a.png", param=PARAM, limits=LIMITS)


async def test_an_unresolvable_host_is_a_clear_400() -> None:
    fetcher = Fetcher(resolve=_resolver({}))
    with pytest.raises(errors.InvalidRequest, match="cannot resolve"):
        await fetcher.fetch("http://nowhere.test/a.png", param=PARAM, limits=LIMITS)


def test_public_addresses_pass_the_default_policy() -> None:
    assert attachments._public("93.184.216.34") and attachments._public("2606:4700::1111")


async def test_an_ip_literal_url_is_vetted_and_fetched_without_a_pin() -> None:
    seen: list[str] = []
    async with serve(_redirecting_server(seen)) as base:
        fetcher = Fetcher(is_public=lambda address: address == "127.0.0.1")
        try:
            data, _ = await fetcher.fetch(f"{base}/cat.png", param=PARAM, limits=LIMITS)
        finally:
            await fetcher.aclose()
    assert data == b"\x89PNG-cat" and len(seen) == 1
    refusing = Fetcher()  # the real policy: loopback is not public
    with pytest.raises(errors.InvalidRequest, match="private or local address"):
        await refusing.fetch("http://[::1]:9/x.png", param=PARAM, limits=LIMITS)
