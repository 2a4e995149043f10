"""Every operation against the simulator, asserting typed results."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from grok_web import (
    ChatRequest,
    GrokClient,
    ImageEditRequest,
    ImagineRequest,
    VideoExtension,
    VideoRequest,
    errors,
)
from grok_web import events as ev
from grok_web import options as options_mod
from grok_web_helpers import collect, make_options


async def test_chat_streams_text_and_ends_with_the_envelope(sim, chat_grok):
    sim.script_reply("Hello from the simulator.", account="sim-chat")
    events = await collect(chat_grok.chat(credential="sim-chat", request=ChatRequest(message="hi")))
    final = events[-1]
    assert isinstance(final, ev.Final)
    text = "".join(e.text for e in events if isinstance(e, ev.TextDelta))
    assert text == final.message == "Hello from the simulator."
    assert isinstance(events[0], ev.ConversationStarted)
    assert final.response_id and final.conversation_id == events[0].conversation_id


def mode_sent(sim, grok) -> str:
    """The upstream mode of the last chat turn: REST ``modeId``, mgw ``session.model``."""
    if grok.options.chat_protocol == "rest":
        return sim.requests(path="/rest/app-chat/conversations/new")[-1]["json"]["modeId"]
    frames = [r["json"] for r in sim.requests(path="/ws/mgw/") if r["method"] == "WS"]
    created = [f["event"] for f in frames if f["event"]["type"] == "session.create"]
    return created[-1]["session"]["model"]


async def test_reasoning_models_stream_reasoning_deltas(sim, chat_grok):
    sim.script_reply("Answer.", reasoning="Thinking it over.", account="sim-think")
    request = ChatRequest(message="why?", model="grok-4.1-thinking")
    events = await collect(chat_grok.chat(credential="sim-think", request=request))
    reasoning = "".join(e.text for e in events if isinstance(e, ev.ReasoningDelta))
    assert "Thinking it over." in reasoning
    assert events[-1].message == "Answer."
    assert mode_sent(sim, chat_grok) == "expert"


async def test_search_replies_carry_tool_cards_results_and_citations(sim, chat_grok):
    events = await collect(
        chat_grok.chat(credential="sim-search", request=ChatRequest(message="news [[sim:search]]"))
    )
    kinds = {type(e) for e in events}
    assert ev.ToolUsageCard in kinds
    assert ev.SearchResults in kinds
    citations = [e for e in events if isinstance(e, ev.Citation)]
    assert citations and citations[0].number == 1 and citations[0].url.startswith("http")


async def test_image_generation_inside_chat_yields_final_images(sim, chat_grok):
    request = ChatRequest(message="Drawing: a red fox", model="grok-3", image_generation_count=2)
    events = await collect(chat_grok.chat(credential="sim-draw", request=request))
    finals = [e for e in events if isinstance(e, ev.ImageFinal)]
    assert len(finals) == 2
    if chat_grok.options.chat_protocol == "rest":  # mgw cards carry finished images only
        assert any(isinstance(e, ev.ImageProgress) for e in events)
    assert set(events[-1].generated_image_urls) >= {f.url for f in finals}


async def test_rate_limits_report_one_mode_window(sim, grok):
    sim.add_account("sim-rl", tier="basic", quotas={"auto": {"total": 20, "remaining": 3}})
    limit = await grok.rate_limits(credential="sim-rl", mode="auto")
    assert (limit.mode, limit.remaining, limit.total) == ("auto", 3, 20)
    assert limit.window_seconds > 0


@pytest.mark.parametrize("tier", ["basic", "super", "heavy"])
async def test_usage_infers_the_tier_from_window_totals(sim, grok, tier):
    credential = f"sim-usage-{tier}"
    sim.add_account(credential, tier=tier)
    usage = await grok.usage(credential=credential)
    assert usage.tier == tier
    assert {"auto", "fast", "expert"} <= set(usage.limits)


async def test_upload_download_list_and_delete_an_asset(sim, grok):
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    uploaded = await grok.upload_file(
        credential="sim-files", file_name="pic.png", mime_type="image/png", content=content
    )
    assert uploaded.file_id and uploaded.file_uri.endswith("/content")
    data = b"".join(
        [
            chunk
            async for chunk in grok.download_asset(credential="sim-files", path=uploaded.file_uri)
        ]
    )
    assert data == content
    page = await grok.list_assets(credential="sim-files")
    assert uploaded.file_id in {asset.asset_id for asset in page.assets}
    await grok.delete_asset(credential="sim-files", asset_id=uploaded.file_id)
    page = await grok.list_assets(credential="sim-files")
    assert uploaded.file_id not in {asset.asset_id for asset in page.assets}
    with pytest.raises(errors.NotFound):
        await grok.delete_asset(credential="sim-files", asset_id=uploaded.file_id)


async def test_asset_listing_follows_pages(sim, grok):
    ids = set()
    for index in range(5):
        uploaded = await grok.upload_file(
            credential="sim-pages", file_name=f"f{index}.txt", mime_type="text/plain", content=b"x"
        )
        ids.add(uploaded.file_id)
    first = await grok.list_assets(credential="sim-pages", page_size=2)
    assert len(first.assets) == 2 and first.next_page_token
    listed = {
        asset.asset_id async for asset in grok.iter_assets(credential="sim-pages", page_size=2)
    }
    assert listed == ids


async def test_download_stops_at_the_size_cap(sim, grok):
    uploaded = await grok.upload_file(
        credential="sim-cap",
        file_name="big.bin",
        mime_type="application/octet-stream",
        content=b"z" * 50_000,
    )
    with pytest.raises(errors.AssetTooLarge):
        async for _chunk in grok.download_asset(
            credential="sim-cap", path=uploaded.file_uri, max_bytes=1000
        ):
            pass


async def test_another_accounts_asset_is_forbidden(sim, grok):
    uploaded = await grok.upload_file(
        credential="sim-owner", file_name="a.txt", mime_type="text/plain", content=b"a"
    )
    with pytest.raises(errors.Forbidden):
        async for _chunk in grok.download_asset(credential="sim-other", path=uploaded.file_uri):
            pass


async def test_imagine_returns_final_images_with_bytes(sim, grok):
    events = await collect(
        grok.imagine(
            credential="sim-imagine", request=ImagineRequest(prompt="a lighthouse", count=2)
        )
    )
    finals = [e for e in events if isinstance(e, ev.ImageFinal)]
    assert len(finals) == 2
    assert all(f.data and f.data[:2] == b"\xff\xd8" for f in finals)  # JPEG
    stages = {e.stage for e in events if isinstance(e, ev.ImageProgress)}
    assert stages == {"preview", "medium"}


async def test_media_post_edit_and_video_pipeline(sim, grok):
    post_id = await grok.create_media_post(
        credential="sim-media", media_type="MEDIA_POST_TYPE_IMAGE", prompt="a cat"
    )
    assert post_id
    uploaded = await grok.upload_file(
        credential="sim-media", file_name="in.png", mime_type="image/png", content=b"\x89PNG"
    )
    edit = ImageEditRequest(prompt="make it blue", images=(uploaded,), parent_post_id=post_id)
    events = await collect(grok.edit_image(credential="sim-media", request=edit))
    assert [e for e in events if isinstance(e, ev.ImageFinal)]
    assert isinstance(events[-1], ev.Final)

    video_events = await collect(
        grok.generate_video(credential="sim-media", request=VideoRequest(prompt="a cat running"))
    )
    finals = [e for e in video_events if isinstance(e, ev.VideoFinal)]
    assert len(finals) == 1 and finals[0].url.endswith(".mp4")
    progress = [e.progress for e in video_events if isinstance(e, ev.VideoProgress)]
    assert progress == sorted(progress)
    hd_url = await grok.upscale_video(credential="sim-media", video_id=finals[0].video_id)
    assert hd_url.endswith(".mp4") and hd_url != finals[0].url
    link = await grok.create_share_link(credential="sim-media", post_id=finals[0].post_id)
    assert finals[0].video_id in link


async def test_account_settings_calls_succeed(sim, grok):
    await grok.accept_tos(credential="sim-settings")
    assert await grok.set_birth_date(
        credential="sim-settings", birth_date=dt.datetime(1990, 5, 17, 16, 0, tzinfo=dt.UTC)
    )
    await grok.set_nsfw(credential="sim-settings", enabled=True)
    (account,) = sim.accounts()
    assert (account["tosVersion"], account["nsfw"]) == (1, True)
    assert account["birthDate"] == "1990-05-17T16:00:00.000Z"
    await grok.set_nsfw(credential="sim-settings", enabled=False)
    assert sim.accounts()[0]["nsfw"] is False


async def test_a_second_birth_date_change_reports_already_set(sim, grok):
    assert await grok.set_birth_date(credential="sim-birth")
    assert await grok.set_birth_date(credential="sim-birth") is False


async def test_a_video_can_be_extended_from_its_last_segment(sim, grok):
    first = await collect(
        grok.generate_video(credential="sim-ext", request=VideoRequest(prompt="x"))
    )
    segment = next(e for e in first if isinstance(e, ev.VideoFinal))
    extension = VideoExtension(extend_post_id=segment.post_id, elapsed_seconds=6)
    request = VideoRequest(prompt="x", parent_post_id=segment.post_id, extension=extension)
    second = await collect(grok.generate_video(credential="sim-ext", request=request))
    assert any(isinstance(e, ev.VideoFinal) for e in second)
    body = sim.requests(path="/rest/app-chat/conversations/new")[-1]
    config = body["json"]["responseMetadata"]["modelConfigOverride"]["modelMap"][
        "videoGenModelConfig"
    ]
    assert config["isVideoExtension"] is True and config["extendPostId"] == segment.post_id
    assert config["videoExtensionStartTime"] == pytest.approx(6 + 1 / 24)
    assert {k.lower(): v for k, v in body["headers"].items()}["referer"].endswith(
        f"/imagine/post/{segment.post_id}"
    )


@pytest.mark.parametrize("protocol", options_mod.CHAT_PROTOCOLS)
async def test_concurrent_chats_share_one_bounded_pool(sim, protocol):
    # Eight turns through two connections: the others wait for one, on either generation.
    opts = dataclasses.replace(
        make_options(sim.base_url, chat_protocol=protocol),
        limits=options_mod.Limits(max_connections=2),
    )
    async with GrokClient(options=opts) as grok:
        turns = await asyncio.gather(
            *(
                collect(grok.chat(credential=f"sim-many-{i}", request=ChatRequest(message="hi")))
                for i in range(8)
            )
        )
    assert all(isinstance(events[-1], ev.Final) and events[-1].message for events in turns)


async def test_unknown_models_fail_before_any_request(sim, grok):
    with pytest.raises(errors.UnknownModel):
        await collect(
            grok.chat(credential="sim-x", request=ChatRequest(message="hi", model="nope"))
        )
    assert sim.requests(path="/rest/app-chat") == []


async def test_imagine_sessions_are_not_capped_at_curls_default_of_ten(sim, grok):
    credentials = [f"sim-imagine-{n}" for n in range(12)]
    open_sessions = [
        grok.imagine(credential=c, request=ImagineRequest(prompt="x", count=1))
        for c in credentials
    ]
    firsts = await asyncio.gather(*(anext(session) for session in open_sessions))  # all live

    assert len(firsts) == 12
    for session in open_sessions:
        await session.aclose()
