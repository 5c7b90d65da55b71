"""Putting user-typed text into Markdown so it renders verbatim and breaks nothing.

Characters that start inline structure (emphasis, code, links, HTML, tables, strike,
entities) are escaped anywhere; characters that only matter at the start of a line
(headings, lists, quotes, setext underlines, thematic breaks) are escaped there.
CommonMark lets a backslash escape any ASCII punctuation, so the text renders exactly.
"""

from __future__ import annotations

import re

# A backslash before each inline metacharacter; one `str.translate` pass (a regex
# substitution with a back reference costs a template expansion per match).
_INLINE = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~&!"})
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def escape_inline(text: str) -> str:
    """Escape one line of user text so Markdown renders it literally.

    Line breaks become spaces: a heading or a table cell cannot hold one, and a raw newline
    would start a new block (a `# heading` on the next line becomes a real heading).
    """
    escaped = " ".join(text.splitlines()).translate(_INLINE)
    return _LINE_START.sub(_escape_marker, escaped)


def _escape_marker(m: re.Match[str]) -> str:
    marker = m.group(2)
    if marker[0].isdigit():
        return f"{m.group(1)}{marker[:-1]}\\{marker[-1]}"
    return f"{m.group(1)}\\{marker}"


def escape_block(text: str, *, indent: str = "  ") -> str:
    """Escape multi-line user text for use inside a list item or paragraph.

    Lines are joined with a hard break (backslash at end of line) and indented so they stay
    inside the item; blank lines are dropped so the item is never split in two.
    """
    lines = [escape_inline(line.strip()) for line in text.splitlines() if line.strip()]
    return ("\\\n" + indent).join(lines)
