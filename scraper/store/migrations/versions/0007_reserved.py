"""Reserved for: seen identities and unchanged bodies (performance). Empty until that work lands; renamed then.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
