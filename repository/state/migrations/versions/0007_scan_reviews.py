"""The open review (开放审核) of scans' researchers' copies: the boxes OCR proposed to paint over a scan, and the
archivist's decision on them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20

Spelled out here, not taken from ``repository.state.tables`` (a test keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scan_reviews",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("archive_id", sa.String(128), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("division", sa.String(12), nullable=False),
        sa.Column("sha512", sa.String(128), nullable=False),
        sa.Column("copy_key", sa.String(160), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("proposed", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("boxes", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scan_reviews"),
    )
    op.create_index("ix_scan_reviews_archive_id_path_copy_key", "scan_reviews", ["archive_id", "path", "copy_key"],
                    unique=True)
    op.create_index("ix_scan_reviews_state_proposed_at", "scan_reviews", ["state", "proposed_at"])
    op.create_index("ix_scan_reviews_sha512", "scan_reviews", ["sha512"])


def downgrade() -> None:
    op.drop_table("scan_reviews")
