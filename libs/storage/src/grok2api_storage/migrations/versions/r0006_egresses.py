"""Egresses (ways out to the upstream, each with its clearance) and account bindings.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _utc() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "egresses",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("proxy_encrypted", sa.Text(), nullable=False),
        sa.Column("asset_proxy_encrypted", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("max_inflight", sa.Integer(), nullable=False),
        sa.Column("browser", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.Column("clearance_encrypted", sa.Text(), nullable=False),
        sa.Column("clearance_user_agent", sa.String(512), nullable=False),
        sa.Column("clearance_obtained_at", _utc(), nullable=True),
        sa.Column("clearance_expires_at", _utc(), nullable=True),
        sa.Column("clearance_source", sa.String(16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False, index=True),
        sa.Column("updated_at", _utc(), nullable=False),
    )
    op.create_table(
        "egress_bindings",
        sa.Column("account_id", sa.String(32), primary_key=True),
        sa.Column("egress_id", sa.String(32), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("egress_bindings")
    op.drop_table("egresses")
