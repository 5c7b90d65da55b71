"""Visible and invisible characters in what people type.

Whitespace is every Unicode space (`str.split()` and `str.strip()` already treat a
non-breaking space, a tab or a newline like a space). Invisible characters are those
that show nothing on their own: whitespace, format characters (zero-width spaces and
joiners, direction marks, embeddings, overrides and isolates, the byte-order mark, tag
characters), control characters, combining marks without a base, unassigned code
points, and the few letters that render as blanks (Hangul fillers, the Braille blank).
A title or a text made only of them says nothing, so it is refused.
"""

from __future__ import annotations

import unicodedata

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def is_invisible(char: str) -> bool:
    """Whether one character shows nothing by itself."""
    return (
        char.isspace()
        or char in _BLANK_LETTERS
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
    )


def has_visible(text: str) -> bool:
    """Whether `text` has at least one character that shows."""
    return not all(is_invisible(c) for c in text)


def _edge(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def strip_edges(text: str) -> str:
    """`text` without whitespace or format characters at either end (a zero-width space
    glued to a subcommand, a byte-order mark before it)."""
    start, end = 0, len(text)
    while start < end and _edge(text[start]):
        start += 1
    while end > start and _edge(text[end - 1]):
        end -= 1
    return text[start:end]
