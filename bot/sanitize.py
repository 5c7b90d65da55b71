"""The one sanitiser for text that a person or monitoring wrote.

`Bot.handle` passes every inbound event through `clean_event` before anything reads it,
so every string field of every event (command text, form values, chat text, alert
titles, label names and values, link labels and URLs, user and channel names) is
cleaned in one place:

- control characters are removed (tab, newline and carriage return stay). The core's
  mention tokens are built from two of them (`bot.markup`), so no inbound text can
  carry a token that an adapter would turn into a real mention;
- lone surrogates (`\\ud800`), which no database driver or JSON encoder accepts, become
  U+FFFD; a surrogate pair left split in two code points is joined into one.

Both steps are linear in the length of the text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, TypeVar

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

T = TypeVar("T")


def _fix_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Pairs join into one code point; lone halves become U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def clean_text(text: str) -> str:
    """`text` without control characters or lone surrogates."""
    if text.isprintable():  # the common case: nothing to do (fast, in C)
        return text
    return _CONTROL.sub("", _fix_surrogates(text))


def clean_value(value: T) -> T:
    """`value` with `clean_text` applied to every string inside it: dataclass fields,
    mapping keys and values, tuple, list and set items. Other values are kept."""
    return _clean(value)  # type: ignore[no-any-return]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, tuple | list | set | frozenset):
        return type(value)(_clean(v) for v in value)
    if isinstance(value, Mapping):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _clean(old)
            if new is not old and new != old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


def clean_event(event: T) -> T:
    """An inbound event with every string in it cleaned (`clean_text`)."""
    return clean_value(event)
