"""The image's default target: every service in one process, as `docker run IMAGE` starts it."""

from __future__ import annotations

import json

import openai
from curl_cffi import requests

from .conftest import unique, upstream_env, wait_http


def test_the_image_is_labelled_runs_as_non_root_and_carries_a_healthcheck(podman, image):
    inspected = json.loads(podman("image", "inspect", image))[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["tini", "--", "grok2api", "run", "--target"]
    assert config["Cmd"] == ["all"]
    assert "/healthz" in " ".join(inspected["Healthcheck"]["Test"])
    labels = config["Labels"]
    for key in ("title", "description", "version", "revision", "created", "source"):
        assert f"org.opencontainers.image.{key}" in labels


def test_the_single_process_answers_healthz_and_a_chat_on_a_read_only_root(
    podman, image, network, simulator
):
    simulator.add_account("container-basic-1", tier="basic")
    name = unique("all")
    podman.start(name, image, network=network, env=upstream_env())
    base = f"http://{podman.address(name)}:8000"
    wait_http(f"{base}/healthz", podman, name)
    podman.wait_healthy(name)
    # The account goes in as a user adds one: the CLI inside the container, over the
    # pool's loopback gRPC port.
    podman("exec", name, "grok2api", "tokens", "add", "container-basic-1", "--tier", "basic")

    assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    reply = client.chat.completions.create(
        model="grok-4", messages=[{"role": "user", "content": "hello container"}]
    )
    assert reply.choices[0].message.content
    # Nothing but DATA_DIR was written (the root is read-only), and as the image's user.
    listing = podman("exec", name, "ls", "-ln", "/data")
    assert "grok2api.db" in listing and " 10001 10001 " in listing

    podman("stop", "--time", "10", name)
    logs = podman.logs(name)
    assert "shutdown_requested signal=SIGTERM" in logs  # tini handed the signal on
    assert "stopped target=all" in logs
    assert podman("inspect", "--format", "{{.State.ExitCode}}", name).strip() == "0"
    assert "container-basic-1" not in logs
