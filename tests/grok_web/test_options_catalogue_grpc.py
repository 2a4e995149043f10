"""Options from settings, the model catalogue and gRPC-web framing."""

from __future__ import annotations

import pytest
from grok2api_settings import Settings
from grok_web import catalogue, errors, grpc_web, options


def test_options_follow_the_settings():
    settings = Settings.model_validate(
        {
            "network": {
                "base_url": "http://127.0.0.1:9100/",
                "base_proxy_url": "socks5://proxy:1080",
                "asset_proxy_url": "http://assets-proxy:8080",
                "timeout": 33,
                "max_connections": 7,
            },
            "security": {"browser": "chrome131", "cf_clearance": "cf"},
            "chat": {"dynamic_statsig": False, "temporary": False},
            "timeout": {"stream_idle_timeout": 5, "video_idle_timeout": 6},
            "image": {"image_ws_blocked_seconds": 3, "image_ws_final_min_bytes": 10},
        }
    )
    opts = options.ClientOptions.from_settings(settings)
    assert opts.endpoints.base_url == "http://127.0.0.1:9100"
    assert opts.egress.base_proxy_url == "socks5h://proxy:1080"
    assert opts.egress.asset_proxy_url == "http://assets-proxy:8080"
    assert opts.egress.browser == "chrome131"
    assert opts.timeouts == options.Timeouts(request=33, stream_idle=5, video_idle=6)
    assert opts.limits.max_connections == 7
    assert opts.chat == options.ChatDefaults(
        temporary=False, disable_memory=True, dynamic_statsig=False
    )
    assert opts.imagine.blocked_seconds == 3
    assert opts.imagine.final_min_bytes == 10


def test_catalogue_holds_the_seed_models():
    ids = [spec.id for spec in catalogue.all_models()]
    assert ids == [
        "grok-3",
        "grok-3-fast",
        "grok-4",
        "grok-4-mini",
        "grok-4-fast",
        "grok-4-heavy",
        "grok-4.1",
        "grok-4.1-thinking",
        "grok-imagine-1.0",
        "grok-imagine-1.0-edit",
        "grok-imagine-1.0-video",
    ]
    heavy = catalogue.get("grok-4-heavy")
    assert (heavy.mode, heavy.min_tier, heavy.cost, heavy.capabilities.reasoning) == (
        "heavy",
        "super",
        4,
        True,
    )
    thinking = catalogue.get("grok-4.1-thinking")
    assert (thinking.mode, thinking.cost, thinking.capabilities.reasoning) == ("expert", 4, True)
    assert catalogue.get("grok-4").capabilities.reasoning is False
    assert catalogue.get("grok-imagine-1.0-video").kind == "video"
    assert heavy.allows_tier("super") and not heavy.allows_tier("basic")


def test_unknown_models_raise_a_typed_error():
    with pytest.raises(errors.UnknownModel) as info:
        catalogue.get("gpt-5")
    assert info.value.blame == "caller"
    assert isinstance(info.value, LookupError)


def test_grpc_frames_round_trip_with_trailers():
    body = grpc_web.frame(b"\x08\x01") + grpc_web.frame(
        b"grpc-status: 0\r\ngrpc-message: all%20good\r\n", flag=0x80
    )
    reply = grpc_web.parse(body, headers={})
    assert reply.messages == (b"\x08\x01",)
    assert reply.status == 0
    assert reply.message == "all good"


def test_grpc_status_can_come_from_headers():
    reply = grpc_web.parse(b"", headers={"grpc-status": "16", "grpc-message": "nope"})
    assert (reply.status, reply.message) == (16, "nope")


def test_truncated_grpc_frames_are_malformed():
    with pytest.raises(errors.MalformedResponse):
        grpc_web.parse(b"\x00\x00\x00\x00\x09abc", headers={})


def test_documented_payload_bytes():
    assert grpc_web.frame(grpc_web.TOS_PAYLOAD) == b"\x00\x00\x00\x00\x02\x10\x01"
    nsfw = grpc_web.frame(grpc_web.nsfw_payload(enabled=True))
    assert nsfw[:5] == b"\x00\x00\x00\x00\x20"
    assert nsfw[5:] == b"\x0a\x02\x10\x01\x12\x1a\x0a\x18always_show_nsfw_content"
    assert grpc_web.nsfw_payload(enabled=False)[3:4] == b"\x00"
