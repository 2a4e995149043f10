"""Third-party failures (durable store, Redis) become pool errors here, and only here."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from grok2api_poolclient import errors
from grok2api_storage import errors as store_errors


@contextlib.contextmanager
def pool_errors() -> Iterator[None]:
    """Raise ``InvalidRequest`` / ``AccountNotFound`` / ``PoolUnavailable`` instead of the
    store's and Redis's own errors (cause chained, message free of secrets)."""
    try:
        yield
    except store_errors.InvalidRecordError as exc:
        raise errors.InvalidRequest(str(exc)) from exc
    except store_errors.NotFoundError as exc:
        raise errors.AccountNotFound("no such account") from exc
    except store_errors.StorageError as exc:
        raise errors.PoolUnavailable(f"durable store failed: {type(exc).__name__}") from exc
    except Exception as exc:
        if not is_redis_error(exc):
            raise
        raise errors.PoolUnavailable(f"redis hot state failed: {type(exc).__name__}") from exc


def is_redis_error(exc: BaseException) -> bool:
    """Whether ``exc`` is redis-py's. redis-py is loaded only with a Redis hot state (it is
    not imported for nothing: about 15 MB), so a process without one meets none."""
    redis_errors = sys.modules.get("redis.exceptions")
    return redis_errors is not None and isinstance(exc, redis_errors.RedisError)
