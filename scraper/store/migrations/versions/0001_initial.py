"""Initial schema: source state, items, reports, detections, alert queue.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("validators", sa.JSON, nullable=False),
        sa.Column("cursor", sa.JSON, nullable=False),
        sa.Column("last_poll_at", TS),
        sa.Column("last_success_at", TS),
        sa.Column("last_failure_at", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("polls", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until", TS),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("item_key", sa.String(1000), nullable=False),
        sa.Column("story_key", sa.String(1000)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("published", TS),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("detection_id", sa.String(100)),
        sa.UniqueConstraint("source", "item_key", name="uq_items_source_key"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_key", sa.String(1000), nullable=False, unique=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("urn", sa.String(20), nullable=False),
        sa.Column("gss_code", sa.String(20)),
        sa.Column("council_name", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("file_id", sa.String(40)),
        sa.Column("report_type", sa.String(40), nullable=False),
        sa.Column("published", sa.String(10)),
        sa.Column("pdf_published", sa.String(10)),
        sa.Column("visit_dates", sa.JSON, nullable=False),
        sa.Column("visit_number", sa.Integer),
        sa.Column("inadequate_since", sa.String(7)),
        sa.Column("judgement", sa.String(40)),
        sa.Column("sub_judgements", sa.JSON, nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("council_as_written", sa.Text),
        sa.Column("text_available", sa.Boolean, nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
    )
    op.create_index("ix_reports_urn", "reports", ["urn"])
    op.create_table(
        "detections",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("report_type", sa.String(40)),
        sa.Column("judgement", sa.String(40)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("title_key", sa.String(300)),
        sa.Column("url", sa.Text),
        sa.Column("published", sa.String(10)),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text),
        sa.Column("councils", sa.JSON, nullable=False),
        sa.Column("visit_dates", sa.JSON, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("baseline", sa.Boolean, nullable=False),
    )
    op.create_index("ix_detections_first_seen", "detections", ["first_seen"])
    op.create_index("ix_detections_title_key", "detections", ["title_key"])
    op.create_table(
        "detection_councils",
        sa.Column("detection_id", sa.String(100), sa.ForeignKey("detections.id"), primary_key=True),
        sa.Column("gss_code", sa.String(20), primary_key=True),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("alert_key", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("detection_id", sa.String(100), sa.ForeignKey("detections.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("digest", sa.String(10)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("claimed_until", TS),
        sa.UniqueConstraint("channel", "alert_key", name="uq_alerts_channel_key"),
    )
    op.create_index("ix_alerts_status_next", "alerts", ["status", "next_attempt_at"])
    op.create_table(
        "channel_state",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_digest_at", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", TS),
    )


def downgrade() -> None:
    for name in ("channel_state", "alerts", "detection_councils", "detections", "reports", "items", "source_state"):
        op.drop_table(name)
