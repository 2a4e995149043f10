"""Log lines: the text format, and secrets masked even when a caller formats one in."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from grok2api_telemetry import context, logs


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("cookie sso=abc123; sso-rw=def456", "cookie sso=***; sso-rw=***"),
        ("auth BEARER sk-live-1", "auth BEARER ***"),
        ("cf cf_clearance=xyz.1", "cf cf_clearance=***"),
        ("proxy socks5://user:hunter2@10.0.0.1:1080", "proxy socks5://user:***@10.0.0.1:1080"),
        ("http_request path=/v1/models status=200", "http_request path=/v1/models status=200"),
    ],
)
def test_redact_masks_every_secret_shape(line: str, masked: str) -> None:
    assert logs.redact(line) == masked


@pytest.fixture
def configured_root() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging._srcfile)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging._srcfile = saved[2]  # type: ignore[attr-defined]
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = True


def test_text_lines_carry_time_level_logger_and_request_id(
    configured_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(level="INFO", fmt="text", file_dir=None)
    token = context.request_id.set("req-1")
    try:
        logging.getLogger("grok2api.test").info("thing_done sso=%s n=%d", "secret-value", 3)
        logging.getLogger("grok2api.test").info("second_line")
    finally:
        context.request_id.reset(token)
    first, second = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO    grok2api\.test "
        r"thing_done sso=\*\*\* n=3 request_id=req-1",
        first,
    ), first
    assert second.endswith("second_line request_id=req-1")
    assert "secret-value" not in first


def test_text_time_is_utc_to_the_millisecond() -> None:
    formatter = logs.TextFormatter()
    lines = []
    for created in (1_700_000_000.005, 1_700_000_000.987, 1_700_000_001.0):
        record = logging.LogRecord("x", logging.INFO, "f", 1, "m", None, None)
        record.created = created
        lines.append(formatter.format(record).split(" ")[0])
    assert lines == [
        "2023-11-14T22:13:20.005Z", "2023-11-14T22:13:20.987Z", "2023-11-14T22:13:21.000Z",
    ]
