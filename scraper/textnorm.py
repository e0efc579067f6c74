"""Text normalisation shared by the council register, the matcher and the classifier.

Names reach us as Ofsted writes them ("Windsor & Maidenhead"), as ONS writes them ("Kingston Upon
Hull, City of") and as journalists write them ("St. Helens’"), so every comparison goes through
one folding function instead of each module inventing its own.
"""

from __future__ import annotations

import re
import unicodedata

# Curly quotes, primes and the HTML-decoded forms all fold to the ASCII apostrophe / quote.
_APOSTROPHES = str.maketrans(
    {"’": "'", "‘": "'", "ʼ": "'", "′": "'", "`": "'", "“": '"', "”": '"', "„": '"'}
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212-]")
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_AND = re.compile(r"\s*&\s*|\+")
_SAINT = re.compile(r"\bst\.\s*")
_SAINT_WORD = re.compile(r"\bsaint\b")
_POSSESSIVE = re.compile(r"'s\b")


def fold_quotes(text: str) -> str:
    """Curly apostrophes and quotes as their ASCII forms (length-preserving)."""
    return text.translate(_APOSTROPHES)


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
