"""The paper register (纸质档案登记) for dual-track reconciliation (双轨制).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "paper_register",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("fonds", sa.String(32), nullable=False),
        sa.Column("catalogue", sa.String(32), nullable=False),
        sa.Column("volume", sa.String(64), nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("box", sa.String(64), nullable=False),
        sa.Column("shelf", sa.String(64)),
        sa.Column("reference_code", sa.String(128)),
        sa.Column("archive_id", sa.String(128)),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("imported", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_paper_register"),
    )
    op.create_index("ix_paper_register_fonds_catalogue_volume_item", "paper_register",
                    ["fonds", "catalogue", "volume", "item"])
    op.create_index("ix_paper_register_archive_id", "paper_register", ["archive_id"])


def downgrade() -> None:
    op.drop_table("paper_register")
