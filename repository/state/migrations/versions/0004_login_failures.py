"""Sign-in failures per account name and their lock (登录失败处理).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

An account name that fails to sign in ``web.login_failures`` times within ``web.login_lock_minutes`` minutes
is locked for as long, from every address and every server process: the count lives here, beside the
accounts, not in one process's memory. Spelled out here, not taken from ``repository.state.tables`` (a test
keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_failed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("name", name="pk_login_failures"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
