"""Disabled channels, owner notices on the queue, and an index for news story look-ups.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A webhook endpoint that answered 410 Gone is disabled until someone re-enables it.
    op.add_column("channel_state", sa.Column("disabled_at", TS))
    op.add_column("channel_state", sa.Column("disabled_reason", sa.Text))
    # An owner notice is an alert row carrying its own body (no detection row of its own).
    op.add_column("alerts", sa.Column("notice", sa.JSON))
    # The news dedupe looks stories up by canonical link on every poll.
    op.create_index("ix_items_story_key", "items", ["story_key"])


def downgrade() -> None:
    op.drop_index("ix_items_story_key", table_name="items")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("notice")
    with op.batch_alter_table("channel_state") as batch:
        batch.drop_column("disabled_reason")
        batch.drop_column("disabled_at")
