"""Workbook building blocks every export shares: a styled, frozen, filtered header, sensible
widths, number formats, and user text that can never become a formula.

Write-only mode keeps memory flat for large exports; openpyxl would otherwise store any
string starting with "=" as a formula, so text cells get data_type "s" explicitly.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FILL = PatternFill("solid", fgColor="B8232F")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="D0D4DA")
HEADER_BORDER = Border(bottom=THIN)
FORMATS = {
    "yuan": '"¥"#,##0.00',
    "int": "#,##0",
    "pct": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "num": "#,##0.00",
}
# Characters that make a spreadsheet treat text as a formula or a control sequence.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | int | yuan | pct | date | datetime | num
    width: int | None = None


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def _width(col: Column) -> int:
    if col.width:
        return col.width
    # CJK characters are about twice as wide as Latin ones.
    visual = sum(2 if ord(ch) > 0x2E80 else 1 for ch in col.header)
    return max(10, min(60, visual + 4))


def cell(ws: Worksheet, value: object, kind: str = "text") -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        c.data_type = "s"  # never a formula, whatever the first character
    elif kind in FORMATS and value is not None:
        c.number_format = FORMATS[kind]
    elif isinstance(value, datetime):
        c.number_format = FORMATS["datetime"]
    elif isinstance(value, date):
        c.number_format = FORMATS["date"]
    return c


def add_table_sheet(wb: Workbook, title: str, columns: Sequence[Column], rows: Iterable[Sequence[object]],
                    *, note: str | None = None) -> Worksheet:
    """A sheet with a styled header row, frozen below the header, autofilter and widths.
    `rows` may be a generator (streamed). Returns the sheet (rows written)."""
    ws = wb.create_sheet(title=title[:31])
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _width(col)
    ws.freeze_panes = "A2"
    header = []
    for col in columns:
        c = cell(ws, col.header)
        c.fill, c.font, c.border = HEADER_FILL, HEADER_FONT, HEADER_BORDER
        c.alignment = Alignment(vertical="center", wrap_text=True)
        header.append(c)
    ws.append(header)
    count = 0
    for row in rows:
        ws.append([cell(ws, value, col.kind) for value, col in zip(row, columns, strict=False)])
        count += 1
    if count == 0 and note:
        ws.append([cell(ws, note)])
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, count) + 1}"
    return ws


def to_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def csv_safe(text: str) -> str:
    """For CSV/Markdown tables opened in a spreadsheet: neutralise formula starts."""
    return "'" + text if text.startswith(FORMULA_START) else text
