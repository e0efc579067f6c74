"""Reserved for: source state: deferrals and fetch hardening (ingest). Empty until that work lands; renamed then.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
