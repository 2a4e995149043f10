"""The one place where driver errors become this package's errors.

Driver messages are kept only when they cannot carry data: SQLAlchemy's own message
includes the statement's parameters, so only the underlying driver error text is used.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc

from . import errors, urls

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sa_exc.InterfaceError,
)
# SQLite, PostgreSQL (UndefinedTableError), MySQL/MariaDB (1146) spellings.
_MISSING_TABLE = re.compile(
    r"no such table|relation \S+ does not exist|table \S+ doesn't exist|undefinedtable",
    re.IGNORECASE,
)
# MySQL client errors 2002-2013 (cannot connect, server gone away, lost connection).
_MYSQL_CONNECTION = re.compile(r"^OperationalError: \(20(0[2-9]|1[0-3]),")


def translate(
    exc: BaseException, *, location: urls.StoreLocation, connecting: bool = False
) -> errors.StorageError:
    """The ``StorageError`` to raise (with ``from exc``) for a driver error.

    ``connecting``: the error came from the first contact, so whatever it is (refused,
    bad password, unknown database) the store is unusable as configured.
    """
    if isinstance(exc, errors.StorageError):
        return exc
    if isinstance(exc, sa_exc.IntegrityError):
        return errors.DuplicateError("the store already holds a record with this unique value")
    detail = _driver_detail(exc)
    where = (
        f"the store at {location.display} (server.storage_type={location.storage_type!r}, "
        "server.storage_url)"
    )
    if connecting or _is_connection_error(exc, detail):
        return errors.StorageUnavailableError(f"{where} cannot be used: {detail}")
    if _MISSING_TABLE.search(detail):
        return errors.SchemaError(
            f"{where} has no grok2api schema yet; run the migrations (store.migrate()) "
            f"first ({detail})"
        )
    return errors.StorageError(f"{where} failed: {detail}")


def _redis_errors() -> tuple[tuple[type[BaseException], ...], type[BaseException] | None]:
    """redis-py's connection errors and its base error, once something imported it: a
    process with no Redis store (nor redis-py loaded) meets none of them."""
    module = sys.modules.get("redis.exceptions")
    if module is None:
        return (), None
    connection = (module.ConnectionError, module.TimeoutError, module.AuthenticationError)
    return connection, module.RedisError


def _is_connection_error(exc: BaseException, detail: str) -> bool:
    connection_errors = _CONNECTION_ERRORS + _redis_errors()[0]
    if isinstance(exc, connection_errors):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return (
            exc.connection_invalidated
            or isinstance(exc.orig, connection_errors)
            or bool(_MYSQL_CONNECTION.match(detail))
        )
    return False


@asynccontextmanager
async def driver_errors(
    location: urls.StoreLocation, *, connecting: bool = False
) -> AsyncIterator[None]:
    """Translate any driver error raised inside the block."""
    try:
        yield
    except errors.StorageError:
        raise
    except (TimeoutError, sa_exc.SQLAlchemyError, OSError) as exc:
        raise translate(exc, location=location, connecting=connecting) from exc
    except Exception as exc:
        redis_error = _redis_errors()[1]
        if redis_error is None or not isinstance(exc, redis_error):
            raise
        raise translate(exc, location=location, connecting=connecting) from exc


def _driver_detail(exc: BaseException) -> str:
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    name = type(original).__name__
    return f"{name}: {text}"[:300] if text else name
