"""A media product the upstream does not offer an account surfaces as ProductUnavailable.

A policy refusal (403 with a JSON body) of a media call, or an Imagine in-band error naming
the missing feature, is ``ProductUnavailable`` (a ``Forbidden``, blame ``account``); a
Cloudflare challenge stays ``CloudflareChallenge`` and chat's own 403 stays ``Forbidden``.
"""

from __future__ import annotations

import pytest
from grok_web import ChatRequest, ImagineRequest, VideoRequest, errors, imagine, media, translate
from grok_web_helpers import collect

CRED = "sim-product-refusal"
POST = media.POST_CREATE


def _refuse(sim, kind: str, path: str) -> None:
    sim.add_account(CRED)
    sim.set_fault(kind, account=CRED, path=path)


async def _post(grok) -> str:
    return await grok.create_media_post(
        credential=CRED, media_type="MEDIA_POST_TYPE_VIDEO", prompt="a lighthouse"
    )


async def test_a_refused_media_post_is_product_unavailable(sim, grok) -> None:
    _refuse(sim, "403", POST)
    with pytest.raises(errors.ProductUnavailable) as info:
        await _post(grok)
    assert isinstance(info.value, errors.Forbidden) and info.value.blame == "account"
    assert info.value.status == 403
    assert type(info.value.__cause__) is errors.Forbidden


async def test_a_challenged_media_post_is_still_a_challenge(sim, grok) -> None:
    _refuse(sim, "cf", POST)
    with pytest.raises(errors.CloudflareChallenge):
        await _post(grok)


async def test_a_refused_imagine_handshake_is_product_unavailable(sim, grok) -> None:
    _refuse(sim, "403", imagine.LISTEN)
    with pytest.raises(errors.ProductUnavailable) as info:
        await collect(grok.imagine(credential=CRED, request=ImagineRequest(prompt="x")))
    assert info.value.status == 403


async def test_a_challenged_imagine_handshake_is_still_a_challenge(sim, grok) -> None:
    _refuse(sim, "cf", imagine.LISTEN)
    with pytest.raises(errors.CloudflareChallenge):
        await collect(grok.imagine(credential=CRED, request=ImagineRequest(prompt="x")))


async def test_a_rate_limited_imagine_handshake_keeps_its_retry_after(sim, grok) -> None:
    sim.add_account(CRED)
    sim.set_fault("429", account=CRED, path=imagine.LISTEN, retry_after=42)
    with pytest.raises(errors.RateLimited) as info:
        await collect(grok.imagine(credential=CRED, request=ImagineRequest(prompt="x")))
    assert info.value.retry_after == 42


async def test_refused_video_generation_and_upscale_are_product_unavailable(sim, grok) -> None:
    _refuse(sim, "403", "/rest/app-chat/conversations/new")
    video = VideoRequest(prompt="waves", parent_post_id="post-1")  # no post to create first
    with pytest.raises(errors.ProductUnavailable):
        await collect(grok.generate_video(credential=CRED, request=video))
    sim.set_fault("403", account=CRED, path=media.VIDEO_UPSCALE)
    with pytest.raises(errors.ProductUnavailable):
        await grok.upscale_video(credential=CRED, video_id="v-1")


async def test_chat_keeps_its_plain_forbidden(sim, chat_grok) -> None:
    rest = chat_grok.options.chat_protocol == "rest"
    _refuse(sim, "403", "/rest/app-chat/conversations/new" if rest else "/ws/mgw/")
    with pytest.raises(errors.Forbidden) as info:
        await collect(chat_grok.chat(credential=CRED, request=ChatRequest(message="hi")))
    assert type(info.value) is errors.Forbidden


async def test_an_in_band_imagine_refusal_is_product_unavailable(client_for) -> None:
    import orjson
    from websockets.asyncio.server import serve

    async def refuse(connection) -> None:
        async for _message in connection:
            await connection.send(orjson.dumps({
                "type": "error", "err_code": "feature_not_available",
                "err_msg": "Imagine is not available for your account",
            }).decode())  # fmt: skip

    async with serve(refuse, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = client_for(f"http://127.0.0.1:{port}", request=10, stream_idle=5)
        with pytest.raises(errors.ProductUnavailable):
            await collect(client.imagine(credential="t", request=ImagineRequest(prompt="p")))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": "feature_not_available", "message": "Imagine"}, errors.ProductUnavailable),
        ({"message": "Video is not available on your plan"}, errors.ProductUnavailable),
        ({"message": "This feature requires SuperGrok"}, errors.ProductUnavailable),
        # the generic rules win: a usage limit that advertises an upgrade is a rate limit
        ({"message": "Usage limit reached; this feature requires SuperGrok"}, errors.RateLimited),
        ({"message": "service not available"}, errors.UpstreamUnavailable),
        ({"code": 7, "message": "feature not available"}, errors.AntiBotRejected),
    ],
)
def test_in_band_media_errors_are_classified_conservatively(error, expected) -> None:
    assert type(translate.from_media_inband(error)) is expected


def test_chat_in_band_errors_never_become_product_refusals() -> None:
    error = {"message": "Imagine is not available for your account"}
    assert type(translate.from_inband(error)) is errors.UpstreamUnavailable


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"content-type": "application/json"}, errors.Forbidden),
        ({"content-type": "text/html", "cf-mitigated": "challenge"}, errors.CloudflareChallenge),
        ({"content-type": "application/json", "cf-mitigated": "challenge"},
         errors.CloudflareChallenge),
        ({}, errors.CloudflareChallenge),
        (None, errors.CloudflareChallenge),
    ],
)
def test_a_refused_upgrade_is_classified_from_its_headers(headers, expected) -> None:
    refused = Exception("curl: (22) Refused WebSocket upgrade: 403")
    assert type(translate.from_ws_handshake(refused, headers=headers)) is expected
