"""Detection reasons: the rules and words that decided each detection, beside its evidence.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # `evidence` already keeps which words named which council; `reasons` keeps why the story
    # counted at all (the Ofsted and type wording, how a shared name was read), so a user can
    # see why something alerted. Rows stored before this revision have none (NULL).
    op.add_column("detections", sa.Column("reasons", sa.JSON))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch rebuild of `detections` would trip
    # the foreign keys that alerts and detection_councils hold on it.
    op.execute("ALTER TABLE detections DROP COLUMN reasons")
