"""Source state remembers a host's Retry-After deferral across runs.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # A host that answered 429/503 with a long Retry-After is not asked again before this
    # moment, even by the next one-off `fetch`; cleared by the source's next success.
    op.add_column("source_state", sa.Column("not_before", sa.DateTime(timezone=True)))
    op.add_column("source_state", sa.Column("not_before_host", sa.String(300)))


def downgrade() -> None:
    with op.batch_alter_table("source_state") as batch:
        batch.drop_column("not_before_host")
        batch.drop_column("not_before")
