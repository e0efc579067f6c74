"""Test helper: builds small PDFs with reportlab from text specs in tests/fixtures/pdf/*.txt.

Spec format: directive lines `#title: …`, `#author: …`, `#kind: text|image|encrypted|
owner_encrypted|corrupt|empty|html`, then one text line per PDF line (wrapping is written
into the spec, as pypdf sees it in real reports), `---page---` for a page break, and table rows
`|| left cell || right cell` whose cells are wrapped like a Word table (left cell first).
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen import canvas

FIXTURES = Path(__file__).parent / "fixtures"
TOP = A4[1] - 60
LEADING = 14


def parse_spec(text: str) -> tuple[dict[str, str], list[str]]:
    """Directives and body lines of a spec."""
    meta: dict[str, str] = {}
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith("#") and ":" in line and not body:
            key, value = line[1:].split(":", 1)
            meta[key.strip()] = value.strip()
        else:
            body.append(line)
    return meta, body


def build_pdf(spec: str) -> bytes:
    """The bytes a spec describes (a real PDF, or the broken body its kind asks for)."""
    meta, body = parse_spec(spec)
    kind = meta.get("kind", "text")
    if kind == "empty":
        return b""
    if kind == "html":
        return (FIXTURES / "ofsted" / "report_not_found.html").read_bytes()
    if kind == "image":
        return _image_only()
    encrypt = None
    if kind == "encrypted":
        encrypt = StandardEncryption("user-secret", ownerPassword="owner-secret")
    elif kind == "owner_encrypted":
        encrypt = StandardEncryption("", ownerPassword="owner-secret", canPrint=1)
    data = _text_pdf(body, meta, encrypt)
    if kind == "corrupt":
        return data[:20] + b"\x00garbage\xff" * 40
    return data


def _text_pdf(body: list[str], meta: dict[str, str], encrypt: object) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, encrypt=encrypt, invariant=1)
    pdf.setTitle(meta.get("title", ""))
    pdf.setAuthor(meta.get("author", ""))
    pdf.setFont("Helvetica", 10)
    y = TOP
    for line in body:
        if line.strip() == "---page---":
            pdf.showPage()
            pdf.setFont("Helvetica", 10)
            y = TOP
            continue
        if line.startswith("||"):
            y = _table_row(pdf, line, y)
        else:
            pdf.drawString(60, y, line)
            y -= LEADING
        if y < 60:
            pdf.showPage()
            pdf.setFont("Helvetica", 10)
            y = TOP
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _table_row(pdf: canvas.Canvas, line: str, y: float) -> float:
    """Draws a two-cell row: all of the left cell's lines, then the right cell's."""
    left, right = (cell.strip() for cell in line[2:].split("||", 1))
    left_lines = textwrap.wrap(left, 55)
    right_lines = textwrap.wrap(right, 20)
    for i, text in enumerate(left_lines):
        pdf.drawString(60, y - i * LEADING, text)
    for i, text in enumerate(right_lines):
        pdf.drawString(400, y - i * LEADING, text)
    return y - (max(len(left_lines), len(right_lines)) + 1) * LEADING


def _image_only() -> bytes:
    """A scanned-looking page: filled shapes and no text layer."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1)
    pdf.setTitle("Scanned report")
    for i in range(20):
        pdf.rect(60, TOP - i * 20, 400 - i * 7, 12, fill=1, stroke=0)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def build_case(name: str) -> bytes:
    """Bytes of tests/fixtures/pdf/<name>.txt."""
    return build_pdf((FIXTURES / "pdf" / f"{name}.txt").read_text(encoding="utf-8"))
