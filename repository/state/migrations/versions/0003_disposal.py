"""Disposal proposals (销毁申请): the two-person rule for retention and disposal.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

A proposal names an archive whose retention has ended, the reason and the archivist proposing; a different
archivist or administrator approves (the archive is then disposed and a signed tombstone kept in the store) or
rejects it. Spelled out here, not taken from ``repository.state.tables`` (a test keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "disposal_proposals",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("archive_id", sa.String(128), nullable=False),
        sa.Column("reference_code", sa.String(64), nullable=False),
        sa.Column("division", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_disposal_proposals"),
    )
    op.create_index("ix_disposal_proposals_archive_id", "disposal_proposals", ["archive_id"])
    op.create_index("ix_disposal_proposals_state_proposed_at", "disposal_proposals", ["state", "proposed_at"])


def downgrade() -> None:
    op.drop_index("ix_disposal_proposals_state_proposed_at", table_name="disposal_proposals")
    op.drop_index("ix_disposal_proposals_archive_id", table_name="disposal_proposals")
    op.drop_table("disposal_proposals")
