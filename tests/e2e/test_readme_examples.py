"""Every curl and Python example of the README that talks to localhost:8000 works as written,
against `make demo` (the simulator with demo accounts and the single-process gateway)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .conftest import ROOT, Demo

pytestmark = pytest.mark.e2e

README = (ROOT / "README.md").read_text()
EXAMPLE_PORT = 8000  # the port the examples name
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


def _curl_commands() -> list[str]:
    """Each curl command aimed at the example port, its continuation lines joined."""
    commands = []
    for block in _blocks("bash"):
        for command in re.split(r"(?<!\\)\n", block):
            if command.startswith(f"curl http://localhost:{EXAMPLE_PORT}/") or command.startswith(
                f"curl -N http://localhost:{EXAMPLE_PORT}/"
            ):
                commands.append(command)
    return commands


def _python_examples() -> list[str]:
    return [block for block in _blocks("python") if f"localhost:{EXAMPLE_PORT}" in block]


def test_the_readme_has_curl_and_python_examples_to_run() -> None:
    assert len(_curl_commands()) >= 2 and _python_examples()


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if _port_taken(EXAMPLE_PORT):
        pytest.fail(f"port {EXAMPLE_PORT}, which the README's examples name, is taken: free it")
    env = {
        **os.environ,
        "SERVER_PORT": str(EXAMPLE_PORT),
        "DATA_DIR": str(tmp_path_factory.mktemp("readme-demo")),
    }
    demo = Demo(env)
    try:
        lines = demo.ready_lines()
        ready = lines and lines[-1].startswith(Demo.READY) and demo.proc.poll() is None
        assert ready, "make demo did not become ready:\n" + "".join(lines)
        yield
    finally:
        demo.stop()


def _run(args: list[str]) -> str:
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", _curl_commands())
def test_curl_example_answers_as_written(demo: None, command: str) -> None:
    out = _run(["bash", "-c", command])
    if "/v1/images/generations" in command:
        answer = json.loads(out)
        urls = [item["url"] for item in answer["data"]]
        assert urls and all("/v1/files/image/" in url for url in urls), out
        assert len(urls) == json.loads(command.split("-d '", 1)[1].rstrip("'"))["n"]
    elif '"stream": true' in command:
        events = [line[6:] for line in out.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]", out
        chunks = [json.loads(event) for event in events[:-1]]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
        assert "".join(d.get("content") or "" for d in deltas).strip(), out
    else:
        answer = json.loads(out)
        assert answer["object"] == "chat.completion", out
        assert answer["choices"][0]["message"]["content"].strip(), out


@pytest.mark.parametrize("source", _python_examples())
def test_python_example_prints_answers_as_written(demo: None, source: str) -> None:
    out = _run([sys.executable, "-c", source])
    printed = [line for line in out.splitlines() if line.strip()]
    assert len(printed) >= 2, out  # e.g. the plain answer, then the streamed one
    assert not any(line.startswith(("ChatCompletion(", "data:")) for line in printed), out
    if "videos.create_and_poll" in source:
        url, video, size = printed
        assert "/v1/files/image/" in url and video.endswith(" completed"), out
        assert int(size.split()[0]) > 0, out
