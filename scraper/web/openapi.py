"""The OpenAPI 3.1 document of the JSON API (its schemas are JSON Schema 2020-12).

The object schemas name every field the CLI prints and allow more, so a field added to the
payload later does not make old clients' validators fail.
"""

from __future__ import annotations

from typing import Any

from scraper import __version__
from scraper.models import JUDGEMENTS, KINDS, REPORT_TYPES, AlertPayload, ReportRecord

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
NDATE = {"type": ["string", "null"], "format": "date"}
NINT = {"type": ["integer", "null"]}


def _nullable(schema: str) -> dict[str, Any]:
    return {"oneOf": [{"$ref": f"#/components/schemas/{schema}"}, {"type": "null"}]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


def _payload_schemas() -> dict[str, Any]:
    """AlertPayload and ReportRecord as the models publish them, refs pointing at components:
    the API documents the very objects the webhook and the CLI emit, from their one home."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(AlertPayload, "serialization"), (ReportRecord, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    defs: dict[str, Any] = top["$defs"]
    return defs


WINDOW = _obj(
    {
        "kind": {"enum": ["monitoring_visit", "focused_visit", "inspection"]},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "basis": STR,
        "overdue": {"type": "boolean"},
    }
)
# The CouncilRef fields inline: the models' CouncilRef forbids extra properties.
COUNCIL = _obj(
    {
        "name": STR,
        "gss_code": STR,
        "ofsted_urn": NSTR,
        "latest_judgement": {"enum": [*JUDGEMENTS, None]},
        "latest_judgement_published": NDATE,
        "months_since_inadequate": NINT,
        "monitoring_visits_since": NINT,
        "latest_report": _nullable("ReportRecord"),
        "latest_news": _nullable("AlertPayload"),
        "expected_visit": _nullable("Window"),
    }
)
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
SCHEMAS = {"Window": WINDOW, "Council": COUNCIL, "Source": SOURCE}  # CouncilRef: the models'


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
            "/api/reports": _list("ReportRecord", "stored Ofsted reports, newest first"),
            "/api/detections": _list("AlertPayload", "detections, newest first"),
            "/api/sources": _list("Source", "configured sources and their state"),
        },
        "components": {
            "schemas": {**_payload_schemas(), **SCHEMAS},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "query": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": [{}, {"bearer": []}, {"query": []}],
    }
