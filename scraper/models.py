"""Domain values shared by every stage: frozen, typed, free of I/O.

Stages pass these along one way (fetch -> sources -> classify/match -> store -> notify), so
each stage can be tested with plain values and no server.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from scraper.clock import Clock, iso_utc

REPORT_TYPES = ("monitoring_visit", "focused_visit", "inspection", "jtai", "area_send", "other")
JUDGEMENTS = ("outstanding", "good", "requires_improvement", "inadequate")
KINDS = ("ofsted_report", "news_article")


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """How the fetch layer behaves; built from the [http] table and per-source overrides."""

    user_agent: str = "ofsted-watch/0.1 (+https://github.com/ofsted-watch/ofsted-watch)"
    timeout: float = 20.0  # connect and per-read timeout, seconds
    deadline: float = 60.0  # wall-clock budget for one request, body included
    max_bytes: int = 20_000_000  # decoded bytes; larger bodies are refused
    min_interval: float = 1.0  # seconds between requests to one host
    retries: int = 3  # extra attempts on connection errors, 429 and 5xx
    backoff_base: float = 0.5  # seconds; full jitter, doubled each attempt
    backoff_cap: float = 30.0  # seconds, longest sleep between retries
    retry_after_cap: float = 60.0  # longest Retry-After honoured in-line; longer defers the host
    respect_robots: bool = True
    allow_private: bool = False  # loopback/private/link-local addresses allowed
    max_redirects: int = 5
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504)  # the Ofsted source adds 403
    max_workers: int = 16  # sources polled at once (different hosts)


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators stored per URL so the next poll can be conditional."""

    etag: str | None = None
    last_modified: str | None = None

    def is_empty(self) -> bool:
        return not (self.etag or self.last_modified)


@dataclass(frozen=True, slots=True)
class Fetched:
    """One HTTP response as the rest of the program sees it. A 304 has an empty body."""

    url: str  # the final URL, after redirects
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # keys lower-case
    encoding: str | None = None  # declared or sniffed charset
    validators: Validators = field(default_factory=Validators)
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class Council:
    """One row of the council register (a children's services authority)."""

    name: str  # official name, e.g. "Reading Borough Council"
    short_name: str  # common name, e.g. "Reading"; used for display
    gss_code: str
    dfe_la_code: str
    ofsted_urn: str | None
    region: str
    aliases: tuple[str, ...] = ()
    delivery_bodies: tuple[str, ...] = ()  # e.g. "Brighter Futures for Children"
    other_gss_codes: tuple[str, ...] = ()  # e.g. Barnsley's 2025 code E08000038
    valid_to: date | None = None  # set only for abolished predecessors

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def ref(self) -> dict[str, Any]:
        """The council as the webhook payload names it (see CouncilRef)."""
        return CouncilRef.of(self).model_dump()


@dataclass(frozen=True, slots=True)
class Item:
    """One entry from a feed or news page, before classification."""

    source: str  # source name from config
    key: str  # identity within the source: guid, else canonical link, else content hash
    title: str
    url: str | None  # canonical link (tracking parameters removed)
    published: datetime | None  # timezone-aware UTC
    summary: str = ""  # plain text
    body: str = ""  # plain text of the full content, when the feed carries it
    categories: tuple[str, ...] = ()
    publisher: str | None = None  # e.g. Google News "Headline - Publisher"
    publisher_url: str | None = None  # Google News <source url>
    raw_link: str | None = None  # link exactly as the feed gave it
    updated: bool = False  # the feed holds an edited version of an earlier entry (GOV.UK)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a council was matched: the text found and where."""

    council: str  # short name of the council
    text: str  # the matched text as written
    where: str  # "title", "summary", "body", "label", "pdf"
    offset: int = -1


@dataclass(frozen=True, slots=True)
class CouncilMatch:
    """Councils an item is about, main one first, with the evidence for each."""

    councils: tuple[Council, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    reasons: tuple[str, ...] = ()  # how shared names were read; for no council, why not


@dataclass(frozen=True, slots=True)
class Classification:
    """What an item says about an inspection: relevance, type and judgement."""

    relevant: bool
    report_type: str | None = None  # one of REPORT_TYPES
    judgement: str | None = None  # one of JUDGEMENTS
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """One Ofsted report on a council's children's services (a file on the provider page)."""

    urn: str
    council_name: str  # as the provider page writes it
    label: str  # link label as the site writes it
    url: str  # file URL
    file_id: str | None  # numeric id from files.ofsted.gov.uk, when present
    report_type: str  # one of REPORT_TYPES
    published: date | None  # the site's date (nonvisual span)
    visit_dates: tuple[date, ...] = ()
    pdf_published: date | None = None  # the PDF's own "Report published" date
    visit_number: int | None = None  # ordinal of a monitoring visit
    inadequate_since: str | None = None  # "YYYY-MM" of the judgement a monitoring visit follows
    judgement: str | None = None
    sub_judgements: Mapping[str, str] = field(default_factory=dict)
    summary: str | None = None
    council_as_written: str | None = None  # from the PDF text
    text_available: bool = False
    available: bool = True  # False when the file is the "Report not found" page

    @property
    def key(self) -> str:
        """Identity of a report: its file id or URL, never its position on the page."""
        return f"ofsted:{self.file_id}" if self.file_id else f"ofsted:{self.url}"


@dataclass(frozen=True, slots=True)
class Detection:
    """One new thing worth telling someone about; `payload()` is the webhook `data` object."""

    id: str  # stable: the same report or story always gets the same id
    kind: str  # one of KINDS
    report_type: str | None
    councils: tuple[Council, ...]
    title: str
    url: str | None
    published: date | None
    source: str
    first_seen: datetime
    visit_dates: tuple[date, ...] = ()
    judgement: str | None = None
    summary: str | None = None
    evidence: tuple[Evidence, ...] = ()
    visit_number: int | None = None  # ordinal of a monitoring visit
    inadequate_since: str | None = None  # "YYYY-MM" of the judgement a monitoring visit follows
    reasons: tuple[str, ...] = ()  # why it was detected: the rules and words that decided

    def payload(self) -> AlertPayload:
        """The published payload, built here once for every output (webhook, chat, email, CLI)."""
        return AlertPayload(
            id=self.id,
            kind=self.kind,
            report_type=self.report_type,
            councils=[CouncilRef.of(c) for c in self.councils],
            title=self.title,
            url=self.url,
            published=self.published,
            visit_dates=list(self.visit_dates),
            judgement=self.judgement,
            source=self.source,
            summary=self.summary,
            first_seen=self.first_seen,
            visit_number=self.visit_number,
            inadequate_since=self.inadequate_since,
            evidence=Why.of(self.reasons, self.evidence),
        )


# ---- the published alert payload ---------------------------------------------------------------
# Receivers, scripts and the web API depend on these names: extend, never rename or drop.

UtcStamp = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "Z$"}),
]
ReportTypeName = Literal[
    "monitoring_visit", "focused_visit", "inspection", "jtai", "area_send", "other"
]
JudgementName = Literal["outstanding", "good", "requires_improvement", "inadequate"]


class _Published(BaseModel):
    # frozen and closed: a field added by mistake fails a test instead of reaching a receiver
    model_config = ConfigDict(extra="forbid", frozen=True)


class CouncilRef(_Published):
    """A council as the payload names it: short name and codes."""

    name: str
    gss_code: str | None = None
    ofsted_urn: str | None = None

    @classmethod
    def of(cls, council: Council) -> CouncilRef:
        return cls(
            name=council.short_name, gss_code=council.gss_code, ofsted_urn=council.ofsted_urn
        )


class EvidenceRef(_Published):
    """Why a council was matched: the text found and where it was found."""

    council: str
    text: str
    where: str
    offset: int = -1

    @classmethod
    def of(cls, evidence: Evidence) -> EvidenceRef:
        e = evidence
        return cls(council=e.council, text=e.text, where=e.where, offset=e.offset)


class Why(_Published):
    """Why a detection was made: the deciding rules, and the words that named each council."""

    reasons: list[str] = Field(description="the rules and words that decided, in order")
    councils: list[EvidenceRef] = Field(description="where each council was named")

    @classmethod
    def of(cls, reasons: Sequence[str], evidence: Sequence[Evidence]) -> Why | None:
        """None when nothing is known (as on detections stored before reasons were kept)."""
        if not reasons and not evidence:
            return None
        return cls(reasons=list(reasons), councils=[EvidenceRef.of(e) for e in evidence])


class AlertPayload(_Published):
    """The webhook `data` object: one detection (or an owner notice) as every output shows it.

    Unknown values are null, never invented. Owner notices use their own `kind`
    (e.g. "alert_failed") and `source = "ofsted-watch"`."""

    id: str = Field(description="stable detection id; the same report or story keeps it")
    kind: str = Field(description="ofsted_report, news_article, or a notice kind")
    report_type: ReportTypeName | None
    councils: list[CouncilRef] = Field(description="watched councils, the main one first")
    title: str
    url: str | None
    published: date | None
    visit_dates: list[date]
    judgement: JudgementName | None
    source: str
    summary: str | None
    first_seen: UtcStamp
    visit_number: int | None = Field(None, description="ordinal of a monitoring visit")
    inadequate_since: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}$",
        description="YYYY-MM of the judgement a monitoring visit follows",
    )
    evidence: Why | None = Field(None, description="why it was detected")

    def data(self) -> dict[str, Any]:
        """The JSON object exactly as published (dates ISO, timestamps UTC with a Z)."""
        return self.model_dump(mode="json")


class ReportRecord(AlertPayload):
    """A stored Ofsted report as `reports --json` prints it: the payload plus report facts."""

    label: str = Field(description="link label as the Ofsted site writes it")
    pdf_published: date | None = Field(description="the PDF's own Report published date")
    sub_judgements: dict[str, str] = Field(description="area -> grade")
    text_available: bool
    available: bool
    council_name: str = Field(description="the council as the provider page writes it")
    urn: str


class WebhookEnvelope(_Published):
    """The body of a `format = "json"` webhook: event type, when it happened, the payload."""

    type: str = Field(description="detection.created, detection.test or notice.created")
    timestamp: UtcStamp
    data: AlertPayload


def payload_schema() -> dict[str, Any]:
    """The published JSON Schema of the webhook body (the payload is its `data`)."""
    schema = WebhookEnvelope.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


AlertStatus = Literal["pending", "sending", "delivered", "failed", "dead"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one send attempt, decided by the channel, acted on by the dispatcher."""

    outcome: Literal["delivered", "retry", "rejected"]
    detail: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What one poll of one source produced. Stored atomically by the pipeline."""

    source: str
    items: tuple[Item, ...] = ()
    reports: tuple[Report, ...] = ()
    validators: Mapping[str, Validators] = field(default_factory=dict)  # url -> new validators
    cursor: Mapping[str, Any] | None = None  # source-specific memory; None keeps the old one
    not_modified: bool = False
    requests: int = 0
    bytes_read: int = 0
    warnings: tuple[str, ...] = ()
    # Parts that failed while the rest was read and is stored (one Ofsted council's page or
    # file): the poll counts as failed, and the source retries those parts next time.
    errors: tuple[str, ...] = ()
    # URNs of councils newly added to the watchlist whose history this poll read: their reports
    # are recorded silently (except what the `[watchlist] lookback` still calls news).
    intake: tuple[str, ...] = ()


class Fetch(Protocol):
    """The fetch layer as sources see it (implemented by fetch.Fetcher)."""

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        max_bytes: int | None = None,
        accept: str | None = None,
    ) -> Fetched: ...


@dataclass(frozen=True, slots=True)
class PollContext:
    """What a source may use during one poll: HTTP, its stored memory, the watchlist."""

    fetch: Fetch
    validators: Mapping[str, Validators]  # url -> stored validators
    cursor: Mapping[str, Any]  # what the source stored last time ({} on the first poll)
    watched: tuple[Council, ...]
    now: Clock
    full_history: bool = False  # backfill: read every provider page of watched councils
    # Keys of the items this source already stored, loaded only when a changed body is parsed
    # (a 304 costs no query); items under these keys are not built again.
    seen: Callable[[], Collection[str]] = frozenset


class Source(Protocol):
    """A configured source; one implementation per `type` (see sources.SOURCE_TYPES)."""

    name: str

    def poll(self, ctx: PollContext) -> SourceResult: ...
