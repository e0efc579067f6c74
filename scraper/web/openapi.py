"""The OpenAPI 3.1 document of the JSON API (its schemas are JSON Schema 2020-12).

The object schemas name every field the CLI prints and allow more, so a field added to the
payload later does not make old clients' validators fail.
"""

from __future__ import annotations

from typing import Any

from scraper import __version__
from scraper.models import JUDGEMENTS, KINDS, REPORT_TYPES

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
NDATE = {"type": ["string", "null"], "format": "date"}
NINT = {"type": ["integer", "null"]}


def _nullable(schema: str) -> dict[str, Any]:
    return {"oneOf": [{"$ref": f"#/components/schemas/{schema}"}, {"type": "null"}]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


COUNCIL_REF = _obj({"name": STR, "gss_code": STR, "ofsted_urn": NSTR})
EVIDENCE = _obj({"council": STR, "text": STR, "where": STR, "offset": {"type": "integer"}})
DETECTION = _obj(
    {
        "id": STR,
        "kind": {"enum": list(KINDS)},
        "report_type": {"enum": [*REPORT_TYPES, None]},
        "councils": {"type": "array", "items": {"$ref": "#/components/schemas/CouncilRef"}},
        "title": STR,
        "url": NSTR,
        "published": NDATE,
        "visit_dates": {"type": "array", "items": {"type": "string", "format": "date"}},
        "judgement": {"enum": [*JUDGEMENTS, None]},
        "source": STR,
        "summary": NSTR,
        "first_seen": {"type": "string", "format": "date-time"},
        "evidence": {"type": "array", "items": {"$ref": "#/components/schemas/Evidence"}},
    },
    # evidence: on detections (why it was detected); a report is not a detection
    [
        *("id", "kind", "report_type", "councils", "title", "url", "published"),
        *("visit_dates", "judgement", "source", "summary", "first_seen"),
    ],
)
REPORT = {
    "allOf": [
        {"$ref": "#/components/schemas/Detection"},
        _obj(
            {
                "label": STR,
                "pdf_published": NDATE,
                "sub_judgements": {"type": "object", "additionalProperties": STR},
                "visit_number": NINT,
                "inadequate_since": NSTR,
                "text_available": {"type": "boolean"},
                "available": {"type": "boolean"},
                "council_name": STR,
                "urn": STR,
            }
        ),
    ]
}
WINDOW = _obj(
    {
        "kind": {"enum": ["monitoring_visit", "focused_visit", "inspection"]},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "basis": STR,
        "overdue": {"type": "boolean"},
    }
)
COUNCIL = {
    "allOf": [
        {"$ref": "#/components/schemas/CouncilRef"},
        _obj(
            {
                "latest_judgement": {"enum": [*JUDGEMENTS, None]},
                "latest_judgement_published": NDATE,
                "months_since_inadequate": NINT,
                "monitoring_visits_since": NINT,
                "latest_report": {
                    "oneOf": [{"$ref": "#/components/schemas/Report"}, {"type": "null"}]
                },
                "latest_news": {
                    "oneOf": [{"$ref": "#/components/schemas/Detection"}, {"type": "null"}]
                },
                "expected_visit": {
                    "oneOf": [{"$ref": "#/components/schemas/Window"}, {"type": "null"}]
                },
            }
        ),
    ]
}
NDATETIME = {"type": ["string", "null"], "format": "date-time"}
SOURCE = _obj(
    {
        "name": STR,
        "type": STR,
        "schedule": STR,
        "last_success": NDATETIME,
        "last_failure": NDATETIME,
        "last_error": NSTR,
        "consecutive_failures": {"type": "integer"},
        "polls": {"type": "integer"},
        "requests": NINT,
        "items": NINT,
        "next_poll": NDATETIME,
    }
)
SCHEMAS = {
    "CouncilRef": COUNCIL_REF,
    "Evidence": EVIDENCE,
    "Detection": DETECTION,
    "Report": REPORT,
    "Window": WINDOW,
    "Council": COUNCIL,
    "Source": SOURCE,
}


def _param(name: str, what: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": what, "schema": schema}


FILTERS = [
    _param("council", "a council's name, alias, GSS or DfE code, or Ofsted URN", STR),
    _param("type", "report type", {"enum": list(REPORT_TYPES)}),
    _param("kind", "detection kind", {"enum": list(KINDS)}),
    _param("since", "published on or after (YYYY-MM-DD)", {"type": "string", "format": "date"}),
    _param("cursor", "next_cursor of the previous page", STR),
    _param("limit", "rows per page (1-500, default 100)", {"type": "integer"}),
]


def _list(schema: str, summary: str) -> dict[str, Any]:
    page = _obj(
        {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}},
            "next_cursor": NSTR,
        }
    )
    return {
        "get": {
            "summary": summary,
            "parameters": FILTERS,
            "responses": {
                "200": {"description": "a page", "content": {"application/json": {"schema": page}}},
                "400": {"description": "a bad filter or cursor"},
                "401": {"description": "a token is configured and none was given"},
            },
        }
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ofsted-watch",
            "version": __version__,
            "description": "Read-only: watched councils, stored Ofsted reports, detections and "
            "sources. Send the token, when one is configured, as `Authorization: Bearer …` or "
            "`?token=`.",
        },
        "paths": {
            "/api/councils": _list("Council", "watched councils and their expected next visit"),
            "/api/reports": _list("Report", "stored Ofsted reports, newest first"),
            "/api/detections": _list("Detection", "detections, newest first"),
            "/api/sources": _list("Source", "configured sources and their state"),
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "query": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{}, {"bearer": []}, {"query": []}],
    }
