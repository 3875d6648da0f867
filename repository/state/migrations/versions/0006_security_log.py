"""The security log (安全审计日志): sign-ins, sign-in failures and locks, sign-outs, and every change to
accounts and tokens, with who did it and from where; append-only and hash-chained like the access register.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

等保 asks for an audit record of each user's important actions and security events (date and time, user,
event, outcome); the access register records uses of archives only. Spelled out here, not taken from
``repository.state.tables`` (a test keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "security_log",
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("division", sa.String(12), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_security_log"),
        sa.UniqueConstraint("hash", name="uq_security_log_hash"),
    )
    op.create_index("ix_security_log_division_seq", "security_log", ["division", "seq"])
    op.create_index("ix_security_log_username_at", "security_log", ["username", "at"])
    op.create_index("ix_security_log_subject_at", "security_log", ["subject", "at"])
    op.create_index("ix_security_log_at", "security_log", ["at"])


def downgrade() -> None:
    op.drop_table("security_log")
