"""The first state schema: users, tokens, the access register (利用登记) and jobs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The tables are spelled out here, not taken from ``repository.state.tables``: a migration is a fixed step,
while the table module follows the newest revision (a test keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("division", sa.String(12), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("created", _tz(), nullable=False),
        sa.Column("updated", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created", _tz(), nullable=False),
        sa.Column("last_used", _tz()),
        sa.Column("revoked", _tz()),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_tokens_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])
    op.create_table(
        "access_register",
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("archive_id", sa.String(128), nullable=False),
        sa.Column("item", sa.Text),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("masked", sa.Boolean, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_access_register"),
        sa.UniqueConstraint("hash", name="uq_access_register_hash"),
    )
    op.create_index("ix_access_register_archive_id_at", "access_register", ["archive_id", "at"])
    op.create_index("ix_access_register_username_at", "access_register", ["username", "at"])
    op.create_index("ix_access_register_at", "access_register", ["at"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("params", sa.JSON(none_as_null=True)),
        sa.Column("dedupe_key", sa.String(128), nullable=True),
        sa.Column("progress_done", sa.BigInteger, server_default=sa.text("0")),
        sa.Column("progress_total", sa.BigInteger, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("error_code", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer, server_default=sa.text("0")),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("started_at", _tz(), nullable=True),
        sa.Column("finished_at", _tz(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("dedupe_key", name="uq_jobs_dedupe_key"),
    )
    op.create_index("ix_jobs_state_created_at", "jobs", ["state", "created_at"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("access_register")
    op.drop_table("tokens")
    op.drop_table("users")
