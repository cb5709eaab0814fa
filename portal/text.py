"""The one rule for text people type or import (names, questions, notes, reasons …).

- `None` is empty; anything that is not a string is refused (`text.err_type`).
- Line breaks are normalised (CR LF, CR, U+2028/U+2029 → LF); a tab becomes a space.
- Leading and trailing whitespace is stripped.
- A line break is kept only in multi-line fields; in a one-line field it is refused
  (`text.err_newline`) — one line stays one line in tables, exports and the audit page.
- Every other control character (NUL, ESC, DEL, C1 …) and lone surrogates are refused
  (`text.err_control`): they cannot be shown, break Excel files and can fake log lines.
- Bidirectional embeddings, overrides and isolates are refused (`text.err_bidi`): they make
  stored text display differently from what it says.
- The length (in characters, after the above) must be within [min_len, max_len]; the caller
  names the message (`key`, with `min`, `max` and its own `params`), and may name a separate
  message for "required but empty" (`empty_key`).
"""

from __future__ import annotations

import unicodedata

from portal.errors import ValidationFailed

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


def problem(text: str, *, multiline: bool) -> str | None:
    """The message key of the first character this rule refuses in `text`, or None."""
    for ch in text:
        if ch == "\n":
            if not multiline:
                return "text.err_newline"
        elif ch in BIDI_CONTROLS:
            return "text.err_bidi"
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            return "text.err_control"
    return None


def normalise(value: str) -> str:
    for old, new in _LINE_BREAKS.items():
        value = value.replace(old, new)
    return value.replace("\t", " ").strip()


def clean(value: object, *, max_len: int, min_len: int = 0, multiline: bool = False,
          key: str = "text.err_length", empty_key: str | None = None, **params: object) -> str:
    """`value` cleaned by the rule above, or ValidationFailed (nothing is ever truncated)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed("text.err_type", **params)
    text = normalise(value)
    refused = problem(text, multiline=multiline)
    if refused:
        raise ValidationFailed(refused, **params)
    if not text and min_len > 0 and empty_key:
        raise ValidationFailed(empty_key, **params)
    if not min_len <= len(text) <= max_len:
        raise ValidationFailed(key, min=min_len, max=max_len, **params)
    return text
