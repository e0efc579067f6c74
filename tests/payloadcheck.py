"""Validate what the program publishes against the committed JSON Schema (docs/payload.schema.json).

The receiver runs every JSON webhook body through `check_body`, and the CLI tests run each
`--json` line through `check_data`, so every payload the tests produce is checked against the
schema a receiver would use, not against our own pydantic model.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "payload.schema.json"


@cache
def schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@cache
def _body_validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _data_validator() -> Draft202012Validator:
    data_schema = {"$ref": "#/$defs/AlertPayload", "$defs": schema()["$defs"]}
    return Draft202012Validator(data_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(document: Any, *, body: bool = True) -> list[str]:
    """Every schema violation in a webhook body (or, with body=False, a `data` object)."""
    validator = _body_validator() if body else _data_validator()
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def check_body(document: Any) -> None:
    """Raise AssertionError when a JSON webhook body does not match the published schema."""
    problems = errors(document)
    assert not problems, f"webhook body breaks docs/payload.schema.json: {problems}"


def check_data(document: Any) -> None:
    """Raise AssertionError when a `data` object (a --json line) does not match the schema."""
    problems = errors(document, body=False)
    assert not problems, f"payload breaks docs/payload.schema.json: {problems}"
