"""Media end to end with the official `openai` SDK: images, edits, videos, chat media models,
against the simulator, in the single-process mode and as split services over Redis."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from curl_cffi import requests
from grok2api_poolclient.grpc_transport import GrpcPoolClient
from grok2api_poolclient.leases import Tier
from grok_sim.testing import SimHandle, SimulatorProcess
from PIL import Image

from .conftest import Service, free_port, process_env, redis_database, wait_grpc, wait_http

pytestmark = [
    pytest.mark.e2e,
    # The SDK marks its Videos API deprecated (OpenAI retires Sora); the API shape stays.
    pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning"),
]

ACCOUNTS = ("media-super-1", "media-super-2")


@dataclasses.dataclass
class Deployment:
    gateways: list[str]  # base URLs
    pool_addr: str
    services: list[Service]
    env: dict[str, str]

    def client(self, index: int = 0) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.gateways[index]}/v1", api_key="unused",
                             max_retries=0, timeout=120)


async def add_accounts(addr: str) -> None:
    async with GrpcPoolClient(addr) as pool:
        for credential in ACCOUNTS:
            await pool.upsert_account(credential=credential, tier=Tier.SUPER)


def with_accounts(simulator: SimHandle, deployment: Deployment) -> Deployment:
    for credential in ACCOUNTS:
        simulator.add_account(credential, tier="super", quotas={"auto": 500, "fast": 500})
    asyncio.run(add_accounts(deployment.pool_addr))
    return deployment


@pytest.fixture(scope="module")
def media_sim() -> Iterator[SimHandle]:
    """One simulator for the module's deployments (they are costly to start)."""
    with SimulatorProcess() as sim:
        yield sim


@pytest.fixture(scope="module")
def module_env(media_sim: SimHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return process_env(tmp_path_factory.mktemp("media"), media_sim)


@pytest.fixture(scope="module")
def single(module_env: dict[str, str], media_sim: SimHandle) -> Iterator[Deployment]:
    port, pool_addr = free_port(), f"127.0.0.1:{free_port()}"
    env = {**module_env, "DATA_DIR": module_env["DATA_DIR"] + "/single",
           "SERVER_PORT": str(port), "TOKEN_POOL_ADDR": pool_addr,
           "GROK2API_APP__APP_URL": f"http://127.0.0.1:{port}"}
    service = Service("all", env)
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", service)
        yield with_accounts(media_sim, Deployment([f"http://127.0.0.1:{port}"], pool_addr,
                                                  [service], env))
    finally:
        service.stop()


def start_split(env: dict[str, str], *, workers: int) -> Deployment:
    """Token pool, two gateways and ``workers`` media workers sharing Redis and DATA_DIR."""
    pool_addr = env["TOKEN_POOL_ADDR"]
    services = [Service("token-pool", {**env, "SERVER_PORT": str(free_port())})]
    gateways = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    try:
        wait_grpc(pool_addr, services[0])
        # The gateways and workers start together (each only needs the pool and Redis),
        # then each gateway is waited for.
        for url in gateways:
            services.append(Service("gateway", {**env, "SERVER_PORT": url.rsplit(":", 1)[1]}))
        for _ in range(workers):
            services.append(Service("media-worker", {**env, "SERVER_PORT": str(free_port())}))
        for url, gateway in zip(gateways, services[1:3], strict=True):
            wait_http(f"{url}/readyz", gateway)
    except BaseException:
        for service in reversed(services):
            service.stop()
        raise
    return Deployment(gateways, pool_addr, services, env)


def split_env_for(env: dict[str, str], redis_url: str) -> dict[str, str]:
    data_dir = Path(env["DATA_DIR"]) / "split"
    data_dir.mkdir(parents=True)
    return {**env, "DATA_DIR": str(data_dir), "REDIS_URL": redis_url,
            "TOKEN_POOL_ADDR": f"127.0.0.1:{free_port()}", "SERVER_STORAGE_TYPE": "local",
            "GROK2API_APP__APP_URL": "http://127.0.0.1:1"}


@pytest.fixture(scope="module")
def split(module_env: dict[str, str], media_sim: SimHandle) -> Iterator[Deployment]:
    with redis_database() as redis_url:
        deployment = start_split(split_env_for(module_env, redis_url), workers=1)
        try:
            yield with_accounts(media_sim, deployment)
        finally:
            for service in reversed(deployment.services):
                service.stop()


@pytest.fixture(params=["single", "split"])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    return request.getfixturevalue(request.param)


def png_file(tmp_path: Path, name: str, color: str) -> Path:
    path = tmp_path / name
    Image.new("RGB", (96, 96), color).save(path, "PNG")
    return path


def fetch(url: str) -> requests.Response:
    """A file link as a browser follows it (the gateway in the link is whatever app_url says;
    the split deployment's links point nowhere, so they are read from the first gateway)."""
    return requests.get(url, timeout=30)


def test_images_generate_answers_urls_and_b64(deployment: Deployment) -> None:
    client = deployment.client()

    by_url = client.images.generate(model="grok-imagine-1.0", prompt="a red fox", n=2,
                                    size="1024x1024")
    b64 = client.images.generate(model="grok-imagine-1.0", prompt="a red fox",
                                 response_format="b64_json")

    assert len(by_url.data) == 2
    for image in by_url.data:
        assert image.url is not None
        path = image.url.split("/v1/files/", 1)[1]
        served = fetch(f"{deployment.gateways[-1]}/v1/files/{path}")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert len(served.content) >= 100_000  # a final image, never a preview
    assert b64.data[0].b64_json is not None
    decoded = base64.b64decode(b64.data[0].b64_json)
    assert decoded[:2] == b"\xff\xd8" and len(decoded) >= 100_000


def test_images_edit_takes_real_image_files(deployment: Deployment, tmp_path: Path) -> None:
    client = deployment.client()
    first, second = png_file(tmp_path, "a.png", "red"), png_file(tmp_path, "b.png", "blue")

    with first.open("rb") as one, second.open("rb") as two:
        edited = client.images.edit(model="grok-imagine-1.0-edit", image=[one, two],
                                    prompt="make them green", n=2, response_format="b64_json")

    assert len(edited.data) == 2
    assert all(base64.b64decode(item.b64_json or "")[:2] == b"\xff\xd8" for item in edited.data)


def test_videos_api_creates_polls_downloads_and_lists_from_any_gateway(
    deployment: Deployment,
) -> None:
    creator, reader = deployment.client(0), deployment.client(-1)

    video = creator.videos.create(model="grok-imagine-1.0-video", prompt="waves at night",
                                  seconds="6", size="1280x720")
    assert video.status in ("queued", "in_progress")
    deadline = time.monotonic() + 60
    while video.status not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        video = reader.videos.retrieve(video.id)

    assert video.status == "completed", video.error
    assert video.progress == 100
    content = reader.videos.download_content(video.id)
    assert content.content[4:8] == b"ftyp"
    listed = reader.videos.list(limit=10)
    assert video.id in [item.id for item in listed.data]
    deleted = reader.videos.delete(video.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        creator.videos.retrieve(video.id)


def test_chat_video_streams_progress_then_the_video(deployment: Deployment) -> None:
    client = deployment.client()

    stream = client.chat.completions.create(
        model="grok-imagine-1.0-video", stream=True,
        messages=[{"role": "user", "content": "a cat surfing"}],
        extra_body={"video_config": {"aspect_ratio": "16:9", "video_length": 6,
                                     "resolution_name": "480p", "preset": "normal"}},
    )
    reasoning, content = [], []
    for chunk in stream:
        if chunk.choices:
            delta = chunk.choices[0].delta
            reasoning.append(getattr(delta, "reasoning_content", None) or "")
            content.append(delta.content or "")

    assert any("%" in piece for piece in reasoning)  # progress as the generation advances
    answer = "".join(content)
    assert answer.startswith("<video") and "/v1/files/video/" in answer


def test_chat_image_model_answers_markdown_images(deployment: Deployment) -> None:
    client = deployment.client()

    reply = client.chat.completions.create(
        model="grok-imagine-1.0", messages=[{"role": "user", "content": "a quiet harbour"}]
    )

    content = reply.choices[0].message.content or ""
    assert content.startswith("![image](") and "/v1/files/image/" in content

