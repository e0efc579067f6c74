"""Source health: when a failing streak began, and which failing/stale notices were sent.

Operational notices ("source failing", "recovered", "stale") are queued like owner notices
but have no detection behind them, so an alert row's detection becomes optional.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("source_state", sa.Column("failing_since", TS))
    op.add_column("source_state", sa.Column("failing_notified_at", TS))
    op.add_column("source_state", sa.Column("stale_notified_at", TS))
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("detection_id", existing_type=sa.String(100), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE detection_id IS NULL")
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("detection_id", existing_type=sa.String(100), nullable=False)
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("stale_notified_at")
        batch.drop_column("failing_notified_at")
        batch.drop_column("failing_since")
