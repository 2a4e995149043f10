"""`make demo`: simulator + single-process gateway answer a chat with no Grok account."""

from __future__ import annotations

import os

import pytest

from .conftest import Demo, free_port

pytestmark = pytest.mark.e2e


def test_demo_answers_a_chat_then_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "SERVER_PORT": str(free_port()), "DATA_DIR": str(tmp_path / "demo")}
    demo = Demo(env)
    try:
        lines = demo.ready_lines()
        answer = [line for line in lines if line.startswith("sample answer:")]
        assert answer and len(answer[0].split("'")[1].split()) > 3, "".join(lines)
    finally:
        returncode, rest = demo.stop()
    assert returncode == 0, rest
    assert "Traceback" not in "".join(lines) + rest
