"""Request body builders and tier inference, without a network."""

from __future__ import annotations

from grok_web import account, chat, context, headers, media, options, transport


def ctx(**chat_defaults: bool) -> context.Context:
    opts = options.ClientOptions(chat=options.ChatDefaults(**chat_defaults))
    return context.Context(
        options=opts,
        transport=transport.Transport(options=opts),
        headers=headers.HeaderFactory(options=opts),
    )


def limits(**totals: int) -> dict[str, account.RateLimit]:
    return {mode: account.RateLimit(mode, total, total, 7200) for mode, total in totals.items()}


def test_tier_comes_from_the_auto_or_fast_totals():
    assert account.infer_tier(limits(auto=20, fast=60)) == "basic"
    assert account.infer_tier(limits(auto=50, fast=140)) == "super"
    assert account.infer_tier(limits(auto=150, fast=400, heavy=20)) == "heavy"
    assert account.infer_tier(limits(fast=30)) == "basic"


def test_conflicting_totals_give_the_lowest_tier_and_unknown_gives_none():
    assert account.infer_tier(limits(auto=50, fast=60)) == "basic"
    assert account.infer_tier(limits(auto=33)) is None


def test_chat_body_takes_client_defaults_unless_the_request_overrides_them():
    body = chat.build_body(request=chat.ChatRequest(message="m"), ctx=ctx(temporary=False))
    assert body["temporary"] is False and body["modeId"] == "auto"
    request = chat.ChatRequest(
        message="m",
        model="grok-3",
        temporary=True,
        custom_personality="be brief",
        overrides={"enableNsfw": True, "imageGenerationCount": 4},
    )
    body = chat.build_body(request=request, ctx=ctx(temporary=False))
    assert body["temporary"] is True and body["modeId"] == "fast"
    assert body["customPersonality"] == "be brief"
    assert body["enableNsfw"] is True and body["imageGenerationCount"] == 4


def test_video_body_with_a_reference_image_and_preset():
    request = media.VideoRequest(prompt="dance", preset="spicy")
    body = media.video_body(
        request=request, post_id="p1", temporary=True,
        image_url="https://assets.grok.com/u/1/content",
    )
    assert (
        body["message"]
        == "https://assets.grok.com/u/1/content  dance --mode=extremely-spicy-or-crazy"
    )
    assert body["fileAttachments"] == ["p1"]
    config = body["responseMetadata"]["modelConfigOverride"]["modelMap"]["videoGenModelConfig"]
    assert config == {
        "parentPostId": "p1",
        "aspectRatio": "3:2",
        "videoLength": 6,
        "resolutionName": "480p",
    }
