"""Structured logging: ``event key=value`` text or one JSON object per line, on stdout.

Every record carries the request id (and the trace id when a span is active). A rotated
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

from . import context

# Last line of defence: values that look like session cookies or bearer keys are masked
# even if a caller formats one into a message by mistake.
_SECRET_PATTERNS = [
    re.compile(r"(sso(?:-rw)?=)[^;\s]+"),
    re.compile(r"(Bearer\s+)\S+", re.IGNORECASE),
    re.compile(r"(cf_clearance=)[^;\s]+"),
    re.compile(r"(://[^:/\s]+:)[^@\s]+(@)"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(2) if m.lastindex == 2 else ""),
                           text)
    return text


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get()
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else "-"
        return True


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        line = (
            f"{stamp}Z {record.levelname:<7} {record.name} {redact(record.getMessage())} "
            f"request_id={getattr(record, 'request_id', '-')}"
        )
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
