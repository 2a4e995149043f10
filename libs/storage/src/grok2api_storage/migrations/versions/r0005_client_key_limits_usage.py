"""Client-key limits and revocation; usage records reshaped to one row per client request.

Nothing wrote ``usage_records`` before this revision (only tests did), so the table is
dropped and created again with the new columns. Keys revoked before this revision were
only disabled (``enabled`` false); they stay disabled, not revoked.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _timestamp() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql")


def _record_id() -> sa.types.TypeEngine:
    # Compared bytewise everywhere (keyset paging agrees with the Redis store).
    return (
        sa.String(64)
        .with_variant(sa.String(64, collation="C"), "postgresql")
        .with_variant(mysql.VARCHAR(64, charset="ascii", collation="ascii_bin"), "mysql")
    )


def upgrade() -> None:
    op.add_column("client_keys", sa.Column("revoked_at", _timestamp(), nullable=True))
    op.add_column("client_keys", sa.Column("max_concurrent", sa.Integer(), nullable=True))
    op.add_column(
        "client_keys",
        sa.Column("quota_unit", sa.String(16), nullable=False, server_default="requests"),
    )
    op.add_column("client_keys", sa.Column("daily_quota", sa.BigInteger(), nullable=True))
    op.add_column("client_keys", sa.Column("monthly_quota", sa.BigInteger(), nullable=True))
    op.add_column(
        "client_keys", sa.Column("account_tags", sa.JSON(none_as_null=True), nullable=True)
    )
    op.add_column("client_keys", sa.Column("expires_at", _timestamp(), nullable=True))

    op.drop_table("usage_records")
    op.create_table(
        "usage_records",
        sa.Column("id", _record_id(), primary_key=True),
        sa.Column("timestamp", _timestamp(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("endpoint", sa.String(256), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_units", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("ttft_ms", sa.Double(), nullable=True),
        sa.Column("account_tier", sa.String(32), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
    )
    op.create_index("ix_usage_records_timestamp", "usage_records", ["timestamp"])
    op.create_index("ix_usage_records_key_id_timestamp", "usage_records", ["key_id", "timestamp"])


def downgrade() -> None:
    op.drop_table("usage_records")
    op.create_table(
        "usage_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("timestamp", _timestamp(), nullable=False, index=True),
        sa.Column("account_id", sa.String(32), nullable=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("client_keys") as batch:
        for column in (
            "expires_at",
            "account_tags",
            "monthly_quota",
            "daily_quota",
            "quota_unit",
            "max_concurrent",
            "revoked_at",
        ):
            batch.drop_column(column)
