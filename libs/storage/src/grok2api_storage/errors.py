"""The storage library's exception tree.

    StorageError                    base of everything this package raises
    ├── StorageConfigError          server.storage_type / server.storage_url is unusable
    ├── StorageUnavailableError     the store's server cannot be reached (or went away)
    ├── SchemaError                 migrating failed, or the schema is newer than this code
    ├── EncryptionKeyError          security.encryption_key (or DATA_DIR/secret.key) is missing
    │   │                           or malformed
    │   └── DecryptionError         a stored credential does not decrypt with the current key
    ├── InvalidRecordError          a value given to a repository is not storable (also ValueError)
    ├── NotFoundError               the record to change does not exist
    └── DuplicateError              the credential is already stored under another account

Messages name the setting to fix and never contain secrets: URLs are shown with their
password masked, credentials and client keys are never shown at all. Driver errors
(SQLAlchemy, asyncpg, aiomysql, redis-py) are translated in ``translate`` and chained as
``__cause__``, so the original stays available to a debugger but never reaches a message.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by ``grok2api_storage``."""


class StorageConfigError(StorageError):
    """The storage settings cannot work (unknown type, malformed URL)."""


class StorageUnavailableError(StorageError):
    """The configured store did not answer (refused, timed out, bad credentials)."""


class SchemaError(StorageError):
    """The schema could not be brought to the version this code needs."""


class EncryptionKeyError(StorageError):
    """No usable encryption key: set ``security.encryption_key``."""


class DecryptionError(EncryptionKeyError):
    """A stored credential was encrypted with another key than the configured one."""


class InvalidRecordError(StorageError, ValueError):
    """A value handed to a repository cannot be stored (for example an empty credential)."""


class NotFoundError(StorageError, LookupError):
    """The record addressed by id does not exist."""


class DuplicateError(StorageError):
    """Another account already holds this credential (same fingerprint)."""
