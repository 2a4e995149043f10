"""SQLAlchemy 2 models of the durable store (the schema the migrations create).

Migrations in ``migrations/versions`` spell their own DDL rather than importing these
classes, so that an old migration keeps meaning what it meant when it was written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every dialect.

    PostgreSQL stores ``timestamptz``; SQLite and MySQL have no zone, so values are stored
    as naive UTC (MySQL with microseconds, its default precision being whole seconds).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY, not BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    credential_encrypted: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    tier: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    fail_count: Mapped[int] = mapped_column(Integer)
    quota: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    tag_rows: Mapped[list[AccountTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AccountTag.position"
    )


class AccountTag(Base):
    __tablename__ = "account_tags"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class ClientKey(Base):
    __tablename__ = "client_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    max_concurrent: Mapped[int | None] = mapped_column(Integer)
    quota_unit: Mapped[str] = mapped_column(String(16), server_default="requests")
    daily_quota: Mapped[int | None] = mapped_column(BigInteger)
    monthly_quota: Mapped[int | None] = mapped_column(BigInteger)
    account_tags: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SettingsOverride(Base):
    __tablename__ = "settings_overrides"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


# Record ids compare bytewise on every backend (as in Redis), so keyset paging agrees.
RecordId = (
    String(64)
    .with_variant(String(64, collation="C"), "postgresql")
    .with_variant(mysql.VARCHAR(64, charset="ascii", collation="ascii_bin"), "mysql")
)


class UsageEntry(Base):
    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_key_id_timestamp", "key_id", "timestamp"),)

    id: Mapped[str] = mapped_column(RecordId, primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    key_id: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    endpoint: Mapped[str] = mapped_column(String(256))
    status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cost_units: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Double)
    ttft_ms: Mapped[float | None] = mapped_column(Double)
    account_tier: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(128))


class AuditLogEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(200))
    client: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class Egress(Base):
    __tablename__ = "egresses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    proxy_encrypted: Mapped[str] = mapped_column(Text)
    asset_proxy_encrypted: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean)
    max_inflight: Mapped[int] = mapped_column(Integer)
    browser: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    clearance_encrypted: Mapped[str] = mapped_column(Text)
    clearance_user_agent: Mapped[str] = mapped_column(String(512))
    clearance_obtained_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    clearance_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    clearance_source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EgressBinding(Base):
    """Which egress an account leaves through, kept so a restart does not move it."""

    __tablename__ = "egress_bindings"

    account_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    egress_id: Mapped[str] = mapped_column(String(32), index=True)
