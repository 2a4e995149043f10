"""The durable store: accounts, client keys, settings overrides, usage records and the
admin audit log.

One store per process, selected by ``server.storage_type`` / ``server.storage_url``:
SQLite in ``DATA_DIR`` (``local``), MySQL/MariaDB, PostgreSQL (SQLAlchemy 2 async) or
Redis. Every store offers the same repositories (``protocols``), passes one contract
test suite, encrypts credentials at rest and never keeps a client key in plain text.

Entry points:
    ``crypto.load_cipher(settings, allow_generate=...)``  the credential cipher
    ``factory.open_store(settings, cipher=...)``          an open ``Store`` (checked reachable);
                                                          no cipher: every repository but
                                                          accounts (the gateway's case)
    ``await store.migrate()``                             schema to head, idempotent, locked
    ``store.accounts`` / ``.client_keys`` / ``.settings_overrides`` / ``.usage`` / ``.audit``
                                                          the repositories (``protocols``)
    ``records``                                           the values they take and return
    ``masking.mask_secret(value)`` / ``mask_url(url)``    masks for listings and logs
    ``urls.resolve_location(settings)``                   validate the settings alone
    ``identity.identify(settings)``                       the store's fingerprint, to tell
                                                          whether two processes share a store
    ``errors``                                            the exception tree

Typical start::

    cipher = load_cipher(settings, allow_generate=single_process)
    async with await open_store(settings, cipher=cipher) as store:
        await store.migrate()
        page = await store.accounts.list(filters=AccountFilter(status=AccountStatus.ACTIVE))
"""

from .crypto import CredentialCipher, generate_key, load_cipher
from .errors import (
    DecryptionError,
    DuplicateError,
    EncryptionKeyError,
    InvalidRecordError,
    NotFoundError,
    SchemaError,
    StorageConfigError,
    StorageError,
    StorageUnavailableError,
)
from .factory import open_store
from .identity import StoreIdentity, identify
from .masking import mask_secret, mask_url
from .protocols import (
    AccountRepository,
    AuditRepository,
    ClientKeyRepository,
    SettingsOverrideRepository,
    Store,
    UsageRepository,
)
from .records import (
    UNSET,
    AccountFilter,
    AccountPage,
    AccountPatch,
    AccountRecord,
    AccountStatus,
    AccountTier,
    AuditEntry,
    AuditPage,
    ClientKeyLimits,
    ClientKeyPatch,
    ClientKeyRecord,
    CreatedClientKey,
    ImportCounts,
    NewAccount,
    QuotaSource,
    QuotaUnit,
    QuotaWindow,
    SchemaMigration,
    SettingOverride,
    UpsertResult,
    UsageBucket,
    UsageFilter,
    UsageGrouping,
    UsageRecord,
)
from .urls import StoreLocation, resolve_location

__all__ = [
    "UNSET",
    "AccountFilter",
    "AccountPage",
    "AccountPatch",
    "AccountRecord",
    "AccountRepository",
    "AccountStatus",
    "AccountTier",
    "AuditEntry",
    "AuditPage",
    "AuditRepository",
    "ClientKeyLimits",
    "ClientKeyPatch",
    "ClientKeyRecord",
    "ClientKeyRepository",
    "CreatedClientKey",
    "CredentialCipher",
    "DecryptionError",
    "DuplicateError",
    "EncryptionKeyError",
    "ImportCounts",
    "InvalidRecordError",
    "NewAccount",
    "NotFoundError",
    "QuotaSource",
    "QuotaUnit",
    "QuotaWindow",
    "SchemaError",
    "SchemaMigration",
    "SettingOverride",
    "SettingsOverrideRepository",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailableError",
    "Store",
    "StoreIdentity",
    "StoreLocation",
    "UpsertResult",
    "UsageBucket",
    "UsageFilter",
    "UsageGrouping",
    "UsageRecord",
    "UsageRepository",
    "generate_key",
    "identify",
    "load_cipher",
    "mask_secret",
    "mask_url",
    "open_store",
    "resolve_location",
]
