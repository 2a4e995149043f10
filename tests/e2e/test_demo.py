"""`make demo`: simulator + single-process gateway answer a chat with no Grok account."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, free_port

pytestmark = pytest.mark.e2e


def test_demo_answers_a_chat_then_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "SERVER_PORT": str(free_port()), "DATA_DIR": str(tmp_path / "demo")}
    demo = subprocess.Popen([sys.executable, str(ROOT / "scripts/demo.py")], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops both"):
                break
        answer = [line for line in lines if line.startswith("sample answer:")]
        assert answer and len(answer[0].split("'")[1].split()) > 3, "".join(lines)
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 0, rest
    assert "Traceback" not in "".join(lines) + rest
