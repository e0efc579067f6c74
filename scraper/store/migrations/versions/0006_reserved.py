"""Reserved for: source health and watchlist intake (operations). Empty until that work lands; renamed then.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
