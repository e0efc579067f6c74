"""Table definitions (SQLAlchemy Core). Alembic migrations create them; this is the query-side view.

Uniqueness lives in the database (unique keys), so two processes racing to record the same
report or queue the same alert cannot both win, whatever the Python around them does.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

source_state = Table(
    "source_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("validators", JSON, nullable=False, default=dict),  # url -> {etag, last_modified}
    Column("cursor", JSON, nullable=False, default=dict),  # source-specific memory
    Column("last_poll_at", DateTime(timezone=True)),
    Column("last_success_at", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("polls", Integer, nullable=False, default=0),
    Column("lease_owner", String(200)),  # multi-instance: who polls this source now
    Column("lease_until", DateTime(timezone=True)),
    # A Retry-After too long to wait out in-line: no request to that host before then, in this
    # process or the next run (host = hostname:port, never credentials).
    Column("not_before", DateTime(timezone=True)),
    Column("not_before_host", String(300)),
    Column("failing_since", DateTime(timezone=True)),  # first failure of the current streak
    Column("failing_notified_at", DateTime(timezone=True)),  # "source failing" sent
    Column("stale_notified_at", DateTime(timezone=True)),  # "nothing new for a while" sent
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("item_key", String(1000), nullable=False),
    Column("story_key", String(1000)),
    Column("title", Text, nullable=False),
    Column("url", Text),
    Column("published", DateTime(timezone=True)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("detection_id", String(100)),
    UniqueConstraint("source", "item_key", name="uq_items_source_key"),
    Index("ix_items_story_key", "story_key"),  # news dedupe looks stories up by it
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_key", String(1000), nullable=False, unique=True),
    Column("source", String(200), nullable=False),
    Column("urn", String(20), nullable=False),
    Column("gss_code", String(20)),
    Column("council_name", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("file_id", String(40)),
    Column("report_type", String(40), nullable=False),
    Column("published", String(10)),  # ISO date, the site's
    Column("pdf_published", String(10)),
    Column("visit_dates", JSON, nullable=False, default=list),
    Column("visit_number", Integer),
    Column("inadequate_since", String(7)),
    Column("judgement", String(40)),
    Column("sub_judgements", JSON, nullable=False, default=dict),
    Column("summary", Text),
    Column("council_as_written", Text),
    Column("text_available", Boolean, nullable=False, default=False),
    Column("available", Boolean, nullable=False, default=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Index("ix_reports_urn", "urn"),
)

detections = Table(
    "detections",
    metadata,
    Column("id", String(100), primary_key=True),  # stable detection id
    Column("kind", String(40), nullable=False),
    Column("report_type", String(40)),
    Column("judgement", String(40)),
    Column("title", Text, nullable=False),
    Column("title_key", String(300)),  # normalised title, to merge one story seen via redirects
    Column("url", Text),
    Column("published", String(10)),
    Column("source", String(200), nullable=False),
    Column("summary", Text),
    Column("councils", JSON, nullable=False, default=list),  # [{name, gss_code, ofsted_urn}]
    Column("visit_dates", JSON, nullable=False, default=list),
    Column("evidence", JSON, nullable=False, default=list),  # [{council, text, where, offset}]
    Column("reasons", JSON),  # why it was detected (revision 0003; NULL on older rows)
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("baseline", Boolean, nullable=False, default=False),  # recorded silently
    Column("visit_number", Integer),  # ordinal of a monitoring visit
    Column("inadequate_since", String(7)),  # "YYYY-MM" of the judgement a visit follows
    Index("ix_detections_first_seen", "first_seen"),
    Index("ix_detections_title_key", "title_key"),
)

detection_councils = Table(
    "detection_councils",
    metadata,
    Column("detection_id", String(100), ForeignKey("detections.id"), primary_key=True),
    Column("gss_code", String(20), primary_key=True),
    Index("ix_detection_councils_gss", "gss_code", "detection_id"),  # a council's detections
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(200), nullable=False),
    Column("alert_key", String(200), nullable=False),
    Column("message_id", String(100), nullable=False),  # webhook-id / Message-ID, stable
    # None for operational notices (a source failing), which no detection is behind.
    Column("detection_id", String(100), ForeignKey("detections.id")),
    Column("status", String(20), nullable=False, default="pending"),
    Column("digest", String(10)),  # "daily"/"weekly" when gathered into a digest email
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("claimed_by", String(200)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("notice", JSON),  # an owner notice's own body; detection_id is then the cause
    UniqueConstraint("channel", "alert_key", name="uq_alerts_channel_key"),
    Index("ix_alerts_status_next", "status", "next_attempt_at"),
)

channel_state = Table(
    "channel_state",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("last_digest_at", DateTime(timezone=True)),  # the digest slot last sent
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True)),  # set by a 410 Gone; claims skip it
    Column("disabled_reason", Text),
)
