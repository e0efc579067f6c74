"""An index to find a council's detections: the web view's council pages and latest news.

The primary key (detection_id, gss_code) serves look-ups by detection; by council it needs its
own index, or every council page scans the table.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_index(
        "ix_detection_councils_gss", "detection_councils", ["gss_code", "detection_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_detection_councils_gss", table_name="detection_councils")
