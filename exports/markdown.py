"""Markdown building blocks for printable exports: user text can neither inject Markdown
(links, images, HTML, headings) nor break a table, and table cells pasted into a spreadsheet
never start like a formula."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from exports.xlsx import csv_safe

# Characters with a Markdown meaning somewhere in a line; escaped wherever they appear.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!~])")
# Line starts that would open a list, heading underline or quote.
_LINE_START = re.compile(r"^(\s*\d*)([-+=.)])", re.M)


def text(value: object) -> str:
    """Plain text that renders as itself (a paragraph; line breaks kept as hard breaks)."""
    if value is None:
        return ""
    escaped = _SPECIAL.sub(r"\\\1", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    return _LINE_START.sub(r"\1\\\2", escaped).replace("\n", "  \n")


def cell(value: object) -> str:
    """A table cell: one line, pipes escaped, formula-looking starts neutralised."""
    if value is None:
        return ""
    one_line = " ".join(str(value).split())
    return text(csv_safe(one_line)) if isinstance(value, str) else text(one_line)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def heading(level: int, value: object) -> str:
    return "#" * level + " " + " ".join(text(value).split())


def document(parts: Iterable[str]) -> bytes:
    return ("\n\n".join(p for p in parts if p) + "\n").encode("utf-8")
