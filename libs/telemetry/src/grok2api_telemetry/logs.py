"""Structured logging: ``event key=value`` text or one JSON object per line, on stdout.

Every record carries the request id, and the trace id when tracing is on and a span is
current (``trace_id=`` in text, ``"trace_id"`` in JSON, ``-`` there otherwise). A rotated
file in ``DATA_DIR/logs`` is added only when ``log.file_enabled`` is true.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
from opentelemetry import trace

from . import context, tracing

# Last line of defence: values that look like session cookies or bearer keys are masked
# even if a caller formats one into a message by mistake.
_SECRET_PATTERNS = [
    re.compile(r"(sso(?:-rw)?=)[^;\s]+"),
    re.compile(r"(Bearer\s+)\S+", re.IGNORECASE),
    re.compile(r"(cf_clearance=)[^;\s]+"),
    re.compile(r"(://[^:/\s]+:)[^@\s]+(@)"),
]
# Every pattern above needs one of these: most lines are cleared by this one search.
_MAYBE_SECRET = re.compile(r"sso|bearer|cf_clearance|://", re.IGNORECASE)


def redact(text: str) -> str:
    if _MAYBE_SECRET.search(text) is None:
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(2) if m.lastindex == 2 else ""),
                           text)
    return text


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        record.trace_id = "-"
        if tracing.enabled():
            span = trace.get_current_span().get_span_context()
            if span.is_valid:
                record.trace_id = format(span.trace_id, "032x")
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def _stamp(self, created: float) -> str:
        # strftime was a third of a record's cost: format each second once.
        second, micros = divmod(round(created * 1_000_000), 1_000_000)  # as datetime rounds
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{micros // 1000:03d}"

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{self._stamp(record.created)}Z {record.levelname:<7} {record.name} "
            f"{redact(record.getMessage())} request_id={getattr(record, 'request_id', '-')}"
        )
        trace_id = getattr(record, "trace_id", "-")
        if trace_id != "-":
            line += f" trace_id={trace_id}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
            "trace_id": getattr(record, "trace_id", "-"),
        }
        if record.exc_info:
            body["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(body).decode()


def configure(*, level: str, fmt: str, file_dir: Path | None) -> None:
    """Install the handlers on the root logger (idempotent: replaces earlier ones)."""
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if file_dir is not None:
        file_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                file_dir / "grok2api.log", maxBytes=10 * 1024 * 1024, backupCount=5
            )
        )
    # Nothing here prints where a record was made or by which thread or process: skip
    # collecting it (the logging HOWTO's own optimisations; the caller lookup walks the stack).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_ContextFilter())
        root.addHandler(handler)
    root.setLevel(level)
    # Access logs would duplicate our own request records; alembic narrates its plugins.
    for chatty in ("uvicorn.access", "alembic"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
