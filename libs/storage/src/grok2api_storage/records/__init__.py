"""Values the repositories take and return: frozen dataclasses, plain Python types.

Timestamps are timezone-aware UTC ``datetime`` objects. Credentials and client keys are
excluded from ``repr`` so that logging a record never leaks them.

One module per subject, every name re-exported here (``records.AccountRecord``):

accounts             accounts, their quota windows, patches, filters, pages, imports
client_keys          client API keys and their limits
usage                usage records and the queries over them
egresses             egresses and their Cloudflare clearances
audit                the admin audit log
settings_overrides   runtime settings overrides
migration            what a schema migration did
common               the patches' ``UNSET`` marker, ``utcnow``
"""

from .accounts import (
    AccountFilter,
    AccountPage,
    AccountPatch,
    AccountRecord,
    AccountStatus,
    AccountTier,
    ImportCounts,
    NewAccount,
    QuotaCheckpoint,
    QuotaSource,
    QuotaWindow,
    UpsertResult,
    quota_from_json,
    quota_to_json,
)
from .audit import AuditEntry, AuditPage
from .client_keys import (
    ClientKeyLimits,
    ClientKeyPatch,
    ClientKeyRecord,
    CreatedClientKey,
    QuotaUnit,
)
from .common import UNSET, Unset, utcnow
from .egresses import Clearance, ClearanceSource, EgressPatch, EgressRecord, NewEgress
from .migration import SchemaMigration
from .settings_overrides import SettingOverride
from .usage import UsageBucket, UsageFilter, UsageGrouping, UsageRecord, usage_record

__all__ = [
    "UNSET",
    "AccountFilter",
    "AccountPage",
    "AccountPatch",
    "AccountRecord",
    "AccountStatus",
    "AccountTier",
    "AuditEntry",
    "AuditPage",
    "Clearance",
    "ClearanceSource",
    "ClientKeyLimits",
    "ClientKeyPatch",
    "ClientKeyRecord",
    "CreatedClientKey",
    "EgressPatch",
    "EgressRecord",
    "ImportCounts",
    "NewAccount",
    "NewEgress",
    "QuotaCheckpoint",
    "QuotaSource",
    "QuotaUnit",
    "QuotaWindow",
    "SchemaMigration",
    "SettingOverride",
    "Unset",
    "UpsertResult",
    "UsageBucket",
    "UsageFilter",
    "UsageGrouping",
    "UsageRecord",
    "quota_from_json",
    "quota_to_json",
    "usage_record",
    "utcnow",
]
