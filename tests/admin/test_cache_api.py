"""The cache API on a real blob store: sizes by type against the limit, clearing."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
from admin import audit
from admin.routers import cache as cache_router
from fastapi import FastAPI
from grok2api_media.blobs import BlobStore


def build(blobs: BlobStore) -> FastAPI:
    app = FastAPI()
    app.include_router(cache_router.router, prefix="/api")
    app.state.audit_log = audit.MemoryAuditLog()
    app.state.media_cache = blobs
    app.state.media_scope = "all"
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a.test")


async def filled(root: Path) -> BlobStore:
    blobs = BlobStore(root, limit_bytes=10_000, auto_clean=False)
    await blobs.put_bytes("image", b"i" * 1000, content_type="image/png")
    await blobs.put_bytes("image", b"i" * 500, content_type="image/jpeg")
    await blobs.put_bytes("video", b"v" * 3000, content_type="video/mp4")
    (root / "video" / ".tmp-in-progress").write_bytes(b"x" * 7)  # a write in progress
    return blobs


async def test_reports_size_against_the_limit_and_files_by_type(tmp_path: Path) -> None:
    async with client(build(await filled(tmp_path))) as http:
        body = (await http.get("/api/cache")).json()
    assert body["scope"] == "all" and body["root"] == str(tmp_path)
    assert body["limit_bytes"] == 10_000 and body["total_bytes"] == 4500
    assert body["files"] == 3 and body["used_fraction"] == 0.45
    assert body["by_type"] == {
        "image": {"bytes": 1500, "files": 2},
        "video": {"bytes": 3000, "files": 1},
        "upload": {"bytes": 0, "files": 0},
    }


async def test_clears_one_type_and_audits_it(tmp_path: Path) -> None:
    app = build(await filled(tmp_path))
    async with client(app) as http:
        answer = (await http.delete("/api/cache?type=image")).json()
        body = (await http.get("/api/cache")).json()
    assert answer == {"scope": "all", "types": ["image"], "removed_files": 2, "removed_bytes": 1500}
    assert body["by_type"]["image"] == {"bytes": 0, "files": 0}
    assert body["by_type"]["video"]["files"] == 1
    assert list((tmp_path / "image").iterdir()) == []
    entry = (await app.state.audit_log.list()).items[0]
    assert entry.action == "cache.clear" and entry.target == "image"
    assert entry.detail == {"removed_files": 2, "removed_bytes": 1500}


async def test_clears_everything_but_writes_in_progress(tmp_path: Path) -> None:
    async with client(build(await filled(tmp_path))) as http:
        answer = (await http.delete("/api/cache")).json()
        assert (await http.get("/api/cache")).json()["total_bytes"] == 0
    assert answer["removed_files"] == 3 and answer["removed_bytes"] == 4500
    assert (tmp_path / "video" / ".tmp-in-progress").exists()


async def test_refuses_an_unknown_type(tmp_path: Path) -> None:
    async with client(build(await filled(tmp_path))) as http:
        answer = await http.delete("/api/cache?type=audio")
    assert answer.status_code == 400 and "audio" in answer.json()["detail"]
    assert len(list((tmp_path / "image").iterdir())) == 2
