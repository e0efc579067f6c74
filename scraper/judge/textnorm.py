"""Text normalisation shared by the council register, the matcher and the classifier.

Names reach us as Ofsted writes them ("Windsor & Maidenhead"), as ONS writes them ("Kingston Upon
Hull, City of") and as journalists write them ("St. Helens’"), so every comparison goes through
one folding function instead of each module inventing its own.
"""

from __future__ import annotations

import re
import unicodedata

# Curly quotes, primes and the HTML-decoded forms all fold to the ASCII apostrophe / quote.
_QUOTES: tuple[tuple[str, str], ...] = (
    *(("’", "'"), ("‘", "'"), ("ʼ", "'"), ("′", "'"), ("`", "'")),
    *(("“", '"'), ("”", '"'), ("„", '"')),
)
# Letters str.lower() leaves that re.I still equates with ASCII ones: dotless i, long s, and
# the combining dot that "İ".lower() leaves after its "i".
_GATE_FOLDS = (("ı", "i"), ("ſ", "s"), ("\u0307", ""))
_DASHES = re.compile(r"[\u2010-\u2015\u2212-]")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_AND = re.compile(r"\s*&\s*|\+")
_SAINT = re.compile(r"\bst\.\s*")
_SAINT_WORD = re.compile(r"\bsaint\b")
_POSSESSIVE = re.compile(r"'s\b")


def fold_quotes(text: str) -> str:
    """Curly apostrophes and quotes as their ASCII forms (length-preserving).

    A replace per quote that is present: this runs on every feed item, and str.translate with
    a dict costs a lookup per character on non-ASCII text (25 times slower on news bodies).
    """
    return _replace_all(text, _QUOTES)


def gate_text(text: str) -> str:
    """Lower-cased text for substring pre-checks ("ofsted" in ...) in front of re.I patterns.

    Every piece of text a case-blind pattern for an ASCII word matches contains that word here,
    so "no gate word in the text" safely means "no pattern can match".
    """
    lowered = text.lower()
    return lowered if lowered.isascii() else _replace_all(lowered, _GATE_FOLDS)


def _replace_all(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        if old in text:
            text = text.replace(old, new)
    return text


def strip_accents(text: str) -> str:
    """Drop combining marks so "Máire" compares equal to "Maire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_text(text: str) -> str:
    """Case-fold and flatten punctuation: the comparable form of any name-like string.

    "&" becomes "and", "St." becomes "st", hyphens and dashes become spaces, possessive "'s"
    and other punctuation are dropped, whitespace collapses.
    """
    text = strip_accents(fold_quotes(text)).casefold()
    text = _AND.sub(" and ", text)
    text = _SAINT.sub("st ", text)
    text = _SAINT_WORD.sub("st", text)
    text = _DASHES.sub(" ", text)
    text = _POSSESSIVE.sub("", text).replace("'", "")
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
