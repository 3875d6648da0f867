"""The lease of a running job in its record: the worker's host and pid, and its last heartbeat.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Leases were kept in the job queue's own storage (Huey's key-value store: Redis when ``jobs.url`` is set). A
Redis without persistence that restarted while a job ran lost the lease, and a sweep could take the job for
lost and queue it again while it still ran. The state database is the record of every job; its leases now
live there too, whatever carries the queue's messages. Spelled out here, not taken from
``repository.state.tables`` (a test keeps the two equal).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lease_host", sa.String(255), nullable=True))
    op.add_column("jobs", sa.Column("lease_pid", sa.Integer, nullable=True))
    op.add_column("jobs", sa.Column("lease_beat", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_beat")
        batch.drop_column("lease_pid")
        batch.drop_column("lease_host")
