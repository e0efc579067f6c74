"""Reserved for: alert delivery and payload (alerts). Empty until that work lands; renamed then.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
