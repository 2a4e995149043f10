"""The one place where driver errors become this package's errors.

Driver messages are kept only when they cannot carry data: SQLAlchemy's own message
includes the statement's parameters, so only the underlying driver error text is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import exceptions as redis_exceptions
from sqlalchemy import exc as sa_exc

from . import errors, urls

_MISSING_TABLE_MARKERS = ("no such table", "doesn't exist", "does not exist", "undefinedtable")


def translate(exc: BaseException, *, location: urls.StoreLocation) -> errors.StorageError:
    """The ``StorageError`` to raise (with ``from exc``) for a driver error."""
    if isinstance(exc, errors.StorageError):
        return exc
    if isinstance(exc, sa_exc.IntegrityError):
        return errors.DuplicateError("the store already holds a record with this unique value")
    detail = _driver_detail(exc)
    if any(marker in detail.lower() for marker in _MISSING_TABLE_MARKERS):
        return errors.SchemaError(
            f"the store at {location.display} has no grok2api schema yet; run the "
            f"migrations (store.migrate()) first ({detail})"
        )
    return errors.StorageUnavailableError(
        f"the store at {location.display} (server.storage_type={location.storage_type!r}, "
        f"server.storage_url) did not answer: {detail}"
    )


@asynccontextmanager
async def driver_errors(location: urls.StoreLocation) -> AsyncIterator[None]:
    """Translate any driver error raised inside the block."""
    try:
        yield
    except errors.StorageError:
        raise
    except (TimeoutError, sa_exc.SQLAlchemyError, redis_exceptions.RedisError, OSError) as exc:
        raise translate(exc, location=location) from exc


def _driver_detail(exc: BaseException) -> str:
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    name = type(original).__name__
    return f"{name}: {text}"[:300] if text else name
