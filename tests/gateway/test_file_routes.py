"""``/v1/files/{image,video}/{id}``: media served from the blob store, with ranges and ETags."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from gateway.app import create_app
from gateway_fakes import FakeGrok, FakePool, make_settings, serve
from grok2api_media.blobs import BlobStore
from grok2api_media.jobs import MediaFile

CACHE_FOREVER = "public, max-age=31536000, immutable"
DATA = bytes(range(256)) * 40  # 10 240 bytes, every position checkable


def build_app(blobs: BlobStore | None) -> FastAPI:
    return create_app(settings=make_settings(), pool=FakePool(), grok=FakeGrok(), blobs=blobs)


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "media", limit_bytes=None)


@pytest.fixture
async def client(store: BlobStore) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=build_app(store))
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


@pytest.fixture
async def image(store: BlobStore) -> MediaFile:
    return await store.put_bytes("image", DATA, content_type="image/png")


def url(file: MediaFile) -> str:
    return f"/v1/files/{file.kind}/{file.id}"


def assert_file_not_found(response: Any) -> None:
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "file_not_found"
    assert error["param"] is None
    assert "does not exist or has expired from the media cache" in error["message"]


async def test_get_serves_the_whole_file_with_its_headers(
    client: httpx2.AsyncClient, store: BlobStore, image: MediaFile
) -> None:
    response = await client.get(url(image))
    stored = await store.open("image", image.id)

    assert response.status_code == 200
    assert response.content == DATA
    assert stored is not None
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["etag"] == stored.etag
    assert response.headers["cache-control"] == CACHE_FOREVER
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-range" not in response.headers


async def test_head_answers_the_headers_without_a_body(
    client: httpx2.AsyncClient, image: MediaFile
) -> None:
    get = await client.get(url(image))
    head = await client.head(url(image))

    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control", "accept-ranges"):
        assert head.headers[name] == get.headers[name]


async def test_videos_are_served_as_mp4(client: httpx2.AsyncClient, store: BlobStore) -> None:
    video = await store.put_bytes("video", b"\x00\x00\x00\x18ftypmp42" + DATA,
                                  content_type="video/mp4")
    response = await client.get(url(video))

    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content.startswith(b"\x00\x00\x00\x18ftypmp42")


async def test_a_matching_etag_answers_304(client: httpx2.AsyncClient, image: MediaFile) -> None:
    etag = (await client.get(url(image))).headers["etag"]

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get(url(image), headers={"If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == CACHE_FOREVER
        assert "content-length" not in response.headers

    other = await client.get(url(image), headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == DATA
    head = await client.head(url(image), headers={"If-None-Match": etag})
    assert head.status_code == 304


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-100", 100, 100),
        ("bytes=10000-", 10000, 10239),
        ("bytes=10000-99999", 10000, 10239),  # the end is clamped to the file
        ("bytes=-240", 10000, 10239),
        ("bytes=-99999", 0, 10239),  # a suffix longer than the file: all of it
        ("bytes=0-", 0, 10239),
        ("Bytes = 5-9", 5, 9),
        ("bytes=5-9,", 5, 9),
    ],
)
async def test_ranges_answer_206_with_exactly_those_bytes(
    client: httpx2.AsyncClient, image: MediaFile, header: str, start: int, end: int
) -> None:
    response = await client.get(url(image), headers={"Range": header})

    assert response.status_code == 206
    assert response.content == DATA[start:end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["content-type"] == "image/png"
    assert response.headers["accept-ranges"] == "bytes"

    head = await client.head(url(image), headers={"Range": header})
    assert head.status_code == 206
    assert head.headers["content-range"] == response.headers["content-range"]
    assert head.headers["content-length"] == response.headers["content-length"]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=10240-10300", "bytes=99999-", "bytes=-0",
                                    "bytes=" + "9" * 40 + "-"])
async def test_unsatisfiable_ranges_answer_416(
    client: httpx2.AsyncClient, image: MediaFile, header: str
) -> None:
    response = await client.get(url(image), headers={"Range": header})

    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert response.json()["error"]["code"] == "range_not_satisfiable"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-9,20-29",  # several ranges: the whole file (documented choice)
        "bytes=9-0",  # backwards: invalid, so ignored
        "bytes=abc",
        "bytes=-",
        "bytes=1-2-3",
        "bytes=+1-2",
        "items=0-9",
        "0-9",
        "bytes=\u0661-\u0662",
    ],
)
async def test_multiple_or_malformed_ranges_answer_the_whole_file(
    client: httpx2.AsyncClient, image: MediaFile, header: str
) -> None:
    response = await client.get(url(image), headers={b"Range": header.encode("utf-8")})

    assert response.status_code == 200
    assert response.content == DATA
    assert "content-range" not in response.headers


async def test_if_range_applies_the_range_only_for_the_current_etag(
    client: httpx2.AsyncClient, image: MediaFile
) -> None:
    etag = (await client.head(url(image))).headers["etag"]

    same = await client.get(url(image), headers={"Range": "bytes=0-9", "If-Range": etag})
    stale = await client.get(url(image), headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    weak = await client.get(url(image), headers={"Range": "bytes=0-9", "If-Range": f"W/{etag}"})

    assert (same.status_code, same.content) == (206, DATA[:10])
    assert (stale.status_code, stale.content) == (200, DATA)
    assert (weak.status_code, weak.content) == (200, DATA)


async def test_an_unknown_id_answers_file_not_found(
    client: httpx2.AsyncClient, image: MediaFile, store: BlobStore
) -> None:
    assert_file_not_found(await client.get("/v1/files/image/" + "Z" * 32 + ".png"))
    assert (await client.head("/v1/files/image/" + "Z" * 32 + ".png")).status_code == 404
    # The right id under the wrong kind, and a deleted file.
    assert_file_not_found(await client.get(f"/v1/files/video/{image.id}"))
    await store.delete("image", image.id)
    assert_file_not_found(await client.get(url(image)))


async def test_uploads_are_never_served(client: httpx2.AsyncClient, store: BlobStore) -> None:
    upload = await store.put_bytes("upload", DATA, content_type="image/png")
    assert_file_not_found(await client.get(f"/v1/files/upload/{upload.id}"))


async def send_raw(app: FastAPI, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Drive the app with ``path`` exactly as given (no client-side URL normalisation)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode("utf-8"),
        "root_path": "", "query_string": b"", "headers": [(b"host", b"gw")],
        "client": ("127.0.0.1", 1), "server": ("gw", 80),
    }
    sent: list[MutableMapping[str, Any]] = []
    request_sent = False
    complete = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await complete.wait()  # the client stays until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            complete.set()

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


VALID = "A" * 32 + ".png"

TRAVERSALS = [
    "/v1/files/image/../../secret.png",
    "/v1/files/image/..%2f..%2fsecret.png",
    "/v1/files/image/%2e%2e%2f%2e%2e%2fsecret.png",
    "/v1/files/image/..",
    "/v1/files/image/",
    "/v1/files/image//etc/passwd",
    "/v1/files/image/" + VALID + "/..",
    "/v1/files/image/" + "A" * 32 + ".PNG",
    "/v1/files/image/" + "A" * 32 + ".exe",
    "/v1/files/image/" + "A" * 32 + ".png%00",
    "/v1/files/image/.tmp-" + "A" * 27 + ".png",
    "/v1/files/image/.clean.lock",
    "/v1/files/../media/image/" + VALID,
    "/v1/files/upload/" + VALID,
    "/v1/files/..%2fsecret.png/x",
]


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_invalid_and_traversal_ids_answer_file_not_found(
    store: BlobStore, tmp_path: Path, path: str
) -> None:
    # Files that a traversal could reach: outside the store, a temp file, the lock file.
    (tmp_path / "secret.png").write_bytes(b"secret")
    (store.root / "image").mkdir(parents=True)
    (store.root / "image" / VALID).write_bytes(b"a real blob")  # only its exact URL works
    (store.root / "image" / (".tmp-" + "A" * 27 + ".png")).write_bytes(b"partial")
    (store.root / ".clean.lock").write_bytes(b"")
    (store.root / "upload").mkdir()
    (store.root / "upload" / VALID).write_bytes(b"an upload")
    app = build_app(store)

    for method in ("GET", "HEAD"):
        status, body = await send_raw(app, path, method)
        assert status == 404, (method, path)
        assert b"secret" not in body and b"partial" not in body and b"upload" not in body
        if method == "GET":
            assert json.loads(body)["error"]["code"] == "file_not_found"

    status, body = await send_raw(app, "/v1/files/image/" + VALID)
    assert (status, body) == (200, b"a real blob")


async def test_the_routes_need_no_api_key(store: BlobStore, image: MediaFile) -> None:
    app = create_app(settings=make_settings(app={"api_key": "sk-secret"}), pool=FakePool(),
                     grok=FakeGrok(), blobs=store)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as client:
        assert (await client.get(url(image))).status_code == 200
        assert (await client.get("/v1/models")).status_code == 401


async def test_without_a_blob_store_the_routes_answer_503(image: MediaFile) -> None:
    transport = httpx2.ASGITransport(app=build_app(None))
    async with httpx2.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.get(url(image))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "media_store_unavailable"


async def test_a_real_server_streams_large_files_and_ranges(store: BlobStore) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)
    video = await store.put_bytes("video", big, content_type="video/mp4")
    async with serve(build_app(store)) as base_url, httpx2.AsyncClient(base_url=base_url) as http:
        whole = await http.get(url(video))
        tail = await http.get(url(video), headers={"Range": "bytes=-1000"})
        middle = await http.get(url(video), headers={"Range": "bytes=1000000-2999999"})
        head = await http.head(url(video))

    assert (whole.status_code, whole.content) == (200, big)
    assert (tail.status_code, tail.content) == (206, big[-1000:])
    assert (middle.status_code, middle.content) == (206, big[1_000_000:3_000_000])
    assert head.status_code == 200 and head.headers["content-length"] == str(len(big))


async def test_a_client_that_goes_away_mid_download_does_not_break_the_server(
    store: BlobStore,
) -> None:
    big = os.urandom(8 * 1024 * 1024)
    video = await store.put_bytes("video", big, content_type="video/mp4")
    async with serve(build_app(store)) as base_url:
        async with httpx2.AsyncClient(base_url=base_url) as http, http.stream(
            "GET", url(video)
        ) as response:
            async for _chunk in response.aiter_bytes():
                break  # and hang up
        async with httpx2.AsyncClient(base_url=base_url) as http:
            again = await http.get(url(video), headers={"Range": "bytes=0-9"})
        assert (again.status_code, again.content) == (206, big[:10])
        for _ in range(200):  # the abandoned response closes its file
            if not open_descriptors_on(store.root):
                break
            await asyncio.sleep(0.01)
        assert open_descriptors_on(store.root) == []


def open_descriptors_on(root: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(root)):
                found.append(target)
    return found


async def test_a_file_cleaned_away_between_lookup_and_read_answers_404(
    client: httpx2.AsyncClient, store: BlobStore, image: MediaFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_open = store.open

    async def open_then_clean(kind: str, blob_id: str) -> Any:
        found = await real_open(kind, blob_id)
        await store.delete(kind, blob_id)  # another pod's cleanup, right then
        return found

    monkeypatch.setattr(store, "open", open_then_clean)
    assert_file_not_found(await client.get(url(image)))
