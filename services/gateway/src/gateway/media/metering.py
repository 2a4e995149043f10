"""One media request counted in ``grok2api_gateway_media_*`` (``metrics.media_finished``).

Labels stay bounded: ``endpoint`` is one of ``ENDPOINTS``, ``model`` a catalogue id (the
request was validated first), ``result`` ``ok``, ``client_gone`` (cancelled or closed
before its end) or an error code (the gateway's own, or a worker's short code).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from .. import errors, metrics

ENDPOINTS = ("images.generations", "images.edits", "chat.completions", "videos")


@contextlib.contextmanager
def metered(endpoint: str, model: str) -> Iterator[None]:
    started = time.perf_counter()
    result = "client_gone"
    try:
        yield
        result = "ok"
    except errors.ApiError as exc:
        result = exc.code or exc.type
        raise
    except Exception:
        result = "internal_error"
        raise
    finally:
        metrics.media_finished(
            endpoint=endpoint, model=model, result=result, seconds=time.perf_counter() - started
        )
