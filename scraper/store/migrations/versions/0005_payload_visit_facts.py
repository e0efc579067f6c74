"""The payload's monitoring-visit facts on detections: visit_number and inadequate_since.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    # Kept on the detection so an alert sent later carries them without a join on reports.
    op.add_column("detections", sa.Column("visit_number", sa.Integer))
    op.add_column("detections", sa.Column("inadequate_since", sa.String(7)))


def downgrade() -> None:
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch copy of `detections` would trip
    # the foreign keys that alerts and detection_councils hold on it.
    op.drop_column("detections", "inadequate_since")
    op.drop_column("detections", "visit_number")
