"""Key names of the Redis store, all under one prefix.

{p}account:{id}            hash: one account (credential encrypted)
{p}accounts                zset: account ids by creation time (the listing order)
{p}account-fp:{hex}        string: credential fingerprint -> account id (uniqueness)
{p}accounts:status:{s}     set: ids by status; likewise :tier:{t} and :tag:{tag}
{p}client-key:{id}         hash: one client key (hash of the key, never the key)
{p}client-keys             zset: client key ids by creation time
{p}client-key-hash:{hex}   string: key hash -> client key id
{p}settings-overrides      hash: dotted key -> JSON {value, updated_at, updated_by}
{p}usage-by-time           zset: usage record ids scored by timestamp (UTC microseconds)
{p}usage-records           hash: usage record id -> JSON record
{p}audit                   zset: JSON admin audit entries by {p}audit-seq (insertion order)
{p}egress:{id}             hash: one egress (proxy URLs and clearance cookies encrypted)
{p}egresses                zset: egress ids by creation time
{p}egress-name:{name}      string: egress name -> id (uniqueness)
{p}egress-bindings         hash: account id -> the egress id it is bound to
{p}schema-version          string: layout version; {p}schema-lock guards migrating it
"""

from __future__ import annotations

import dataclasses

DEFAULT_PREFIX = "grok2api:store:"


@dataclasses.dataclass(frozen=True)
class Keys:
    prefix: str

    def account(self, account_id: str) -> str:
        return f"{self.prefix}account:{account_id}"

    @property
    def accounts(self) -> str:
        return f"{self.prefix}accounts"

    def fingerprint(self, fingerprint: str) -> str:
        return f"{self.prefix}account-fp:{fingerprint}"

    def status(self, status: str) -> str:
        return f"{self.prefix}accounts:status:{status}"

    def tier(self, tier: str) -> str:
        return f"{self.prefix}accounts:tier:{tier}"

    def tag(self, tag: str) -> str:
        return f"{self.prefix}accounts:tag:{tag}"

    def client_key(self, key_id: str) -> str:
        return f"{self.prefix}client-key:{key_id}"

    @property
    def client_keys(self) -> str:
        return f"{self.prefix}client-keys"

    def client_key_hash(self, key_hash: str) -> str:
        return f"{self.prefix}client-key-hash:{key_hash}"

    @property
    def settings_overrides(self) -> str:
        return f"{self.prefix}settings-overrides"

    @property
    def legacy_usage(self) -> str:
        """Layout 1's usage zset (JSON members), removed by the step to layout 2."""
        return f"{self.prefix}usage"

    @property
    def usage_by_time(self) -> str:
        return f"{self.prefix}usage-by-time"

    @property
    def usage_records(self) -> str:
        return f"{self.prefix}usage-records"

    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    @property
    def audit_seq(self) -> str:
        return f"{self.prefix}audit-seq"

    def egress(self, egress_id: str) -> str:
        return f"{self.prefix}egress:{egress_id}"

    @property
    def egresses(self) -> str:
        return f"{self.prefix}egresses"

    def egress_name(self, name: str) -> str:
        return f"{self.prefix}egress-name:{name}"

    @property
    def egress_bindings(self) -> str:
        return f"{self.prefix}egress-bindings"

    @property
    def schema_version(self) -> str:
        return f"{self.prefix}schema-version"

    @property
    def schema_lock(self) -> str:
        return f"{self.prefix}schema-lock"
