"""Media posts, share links and video upscale (grok-protocol.md §13.1, §13.5)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import frames, gate, imaging, media, responses
from .common import headers_of, json_response, parse_json, read_recorded, sim_state

POST_TYPES = ("MEDIA_POST_TYPE_IMAGE", "MEDIA_POST_TYPE_VIDEO")


async def create_post(request: Request) -> Response:
    state = sim_state(request)
    body = parse_json(await read_recorded(request)) or {}
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"])
    media_type = body.get("mediaType") if isinstance(body, dict) else None
    if media_type not in POST_TYPES:
        raise responses.bad_request(f"mediaType (one of {', '.join(POST_TYPES)})")
    if not body.get("prompt") and not body.get("mediaUrl"):
        raise responses.bad_request("missing or invalid body fields: prompt or mediaUrl")
    post_id = state.new_id("post")
    post = {"id": post_id, "userId": account.user_id, "createTime": frames.iso_now(),
            "mediaType": media_type, "prompt": body.get("prompt", ""),
            "mediaUrl": body.get("mediaUrl", "")}
    account.posts[post_id] = post
    return json_response({"post": post})


async def create_link(request: Request) -> Response:
    state = sim_state(request)
    body = parse_json(await read_recorded(request)) or {}
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"])
    post_id = body.get("postId") if isinstance(body, dict) else None
    missing = [name for name in ("postId", "source", "platform") if not body.get(name)]
    if missing:
        raise responses.bad_request("missing or invalid body fields: " + ", ".join(missing))
    post = account.posts.get(str(post_id))
    if post is None:
        raise responses.not_found("post")
    video_id = str(post.get("videoId") or post_id)
    path = f"imagine-public/share-videos/{video_id}.mp4"
    imaging.store(state, account=account, asset_id=f"share-{video_id}", path=path,
                  mime="video/mp4", data=lambda: media.mp4_video(media.variant_for(video_id)),
                  listed=False)
    return json_response({"shareLink": f"{request.base_url}{path}?cache=1"})


async def upscale(request: Request) -> Response:
    state = sim_state(request)
    body = parse_json(await read_recorded(request)) or {}
    account = gate.admit(state, headers=headers_of(request), path=request.scope["path"])
    video_id = body.get("videoId") if isinstance(body, dict) else None
    if not video_id:
        raise responses.bad_request("missing or invalid body fields: videoId (missing)")
    original = state.assets.at(f"users/{account.user_id}/generated/{video_id}/generated_video.mp4")
    if original is None:
        raise responses.not_found("video")
    path = imaging.store(state, account=account, asset_id=f"{video_id}-hd", listed=False,
                         path=f"users/{account.user_id}/generated/{video_id}/generated_video_hd.mp4",
                         mime="video/mp4", data=original.load)
    return json_response({"hdMediaUrl": path})
