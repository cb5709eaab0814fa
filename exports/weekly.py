"""The weekly review workbook: portal.weekly.gather's data → xlsx bytes. Pure, and streamed:
every sheet is written row by row in openpyxl's write-only mode (conditional formats and
charts are written after the rows, which write-only mode supports), so a province-scale
Daily sheet never sits in memory as cells.

Each sheet is a heading line, then one or more blocks (an optional title, a styled header,
the rows, an optional footer); the first block gets the filter. The sheet contents are
described once in exports.weekly_sheets; `to_xlsx` styles them, `workbook_cells` yields the
very same cell values unstyled — for a benchmark against a raw openpyxl dump:

    data = db.run(portal.weekly.gather, write=False, actor=..., week=...)
    to_xlsx(data)                                   # the export
    wb = Workbook(write_only=True)                  # the raw dump of the same cells
    for title, rows in workbook_cells(data):
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import numpy as np
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook

from exports.weekly_sheets import Block, ChartSpec, SheetSpec, sheets
from exports.xlsx import (
    FORMATS,
    HEADER_BORDER,
    HEADER_FILL,
    HEADER_FONT,
    _width,
    cell,
    new_workbook,
    to_bytes,
)
from portal.kpis import AMBER, GREEN

HEADING_FONT = Font(bold=True, size=13)
TITLE_FONT = Font(bold=True, size=11, color="B8232F")
NOTE_FONT = Font(italic=True, color="6B7280")
FOOTER_FONT = Font(bold=True)
# Excel's own good / neutral / bad colours: the traffic lights of portal.kpis.light.
LIGHTS = (("green", "C6EFCE", "006100"), ("amber", "FFEB9C", "9C5700"), ("red", "FFC7CE", "9C0006"))
# Kinds beyond exports.xlsx.FORMATS: places moved (▲ up, ▼ down, – unchanged).
EXTRA_FORMATS = {"move": '"▲"0;"▼"0;"–"'}


def clean(value: object) -> object:
    """A value openpyxl writes as it is meant: NaN/NaT and "" → empty, numpy scalars → Python,
    characters XML cannot hold → U+FFFD (text stays text: see exports.xlsx.cell)."""
    if value is None or value == "":
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if ILLEGAL_CHARACTERS_RE.search(value) else value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if value != value:  # NaT
        return None
    return value


# ------------------------------------------------------------------ layout (shared by both writers)

def _layout(spec: SheetSpec) -> Iterator[tuple[str, Sequence, object]]:
    """(role, values, extra) per row, in order; role "end" closes a block (no row) with
    extra = (block index, header row, first data row, last data row)."""
    row = 1
    first = spec.blocks[0].title if spec.blocks else ""
    yield "heading", [f"{spec.heading} · {first}" if first else spec.heading], None
    for index, block in enumerate(spec.blocks):
        if index:
            row += 1
            yield "blank", [], None
            if block.title:
                row += 1
                yield "title", [block.title], None
        row += 1
        header = row
        yield "header", [c.header for c in block.columns], None
        base = [c.kind for c in block.columns]
        count = 0
        for values in block.rows():
            row += 1
            count += 1
            yield "data", [clean(v) for v in values], block.kinds(values) if block.kinds else base
        if count == 0 and block.empty:
            row += 1
            yield "empty", [block.empty], None
        if count and block.footer:
            row += 1
            yield "footer", block.footer(header + 1, header + count), base
        yield "end", [], (index, header, header + 1, header + count)


def workbook_cells(data: dict) -> Iterator[tuple[str, Iterator[list]]]:
    """(sheet title, rows of plain values) — exactly the cells to_xlsx writes, unstyled."""
    for spec in sheets(data):
        yield spec.title, (list(values) for role, values, _ in _layout(spec) if role != "end")


# ------------------------------------------------------------------ the styled writer

def _cell(ws, value: object, kind: str) -> object:  # noqa: ANN001
    """A data cell. Only what needs it becomes a styled WriteOnlyCell (exports.xlsx.cell):
    numbers with a format, and text starting with "=", the one prefix openpyxl would store as
    a formula. Other text and unformatted values are appended as they are — openpyxl writes a
    str as an inline string — which spares a cell object per value on the big sheets."""
    if value is None:
        return None
    if isinstance(value, str):
        return cell(ws, value) if value.startswith("=") else value
    if kind in EXTRA_FORMATS and isinstance(value, int | float):
        c = cell(ws, value)
        c.number_format = EXTRA_FORMATS[kind]
        return c
    return cell(ws, value, kind) if kind in FORMATS else value


def _styled(ws, value: object, font: Font) -> WriteOnlyCell:  # noqa: ANN001
    c = cell(ws, value)
    c.font = font
    return c


def _formula_or_cell(ws, value: object, kind: str) -> WriteOnlyCell:  # noqa: ANN001
    """Footer cells: our own SUBTOTAL formulas (never user text) or plain values, in bold."""
    if isinstance(value, str) and value.startswith("=SUBTOTAL("):
        c = WriteOnlyCell(ws, value=value)  # data type "f"
        c.number_format = cell(ws, 0, kind).number_format
    else:
        c = cell(ws, value, kind)
    c.font = FOOTER_FONT
    return c


def _header(ws, values: Sequence) -> list[WriteOnlyCell]:  # noqa: ANN001
    out = []
    for value in values:
        c = cell(ws, value)
        c.fill, c.font, c.border = HEADER_FILL, HEADER_FONT, HEADER_BORDER
        out.append(c)
    return out


def _lights(ws, block: Block, first: int, last: int) -> None:  # noqa: ANN001
    """Traffic-light fills on ratio columns, by the thresholds of portal.kpis (blank = none)."""
    for index in block.lights:
        letter = get_column_letter(index + 1)
        top = f"{letter}{first}"
        tests = {"green": f"{top}>={GREEN}", "amber": f"AND({top}>={AMBER},{top}<{GREEN})", "red": f"{top}<{AMBER}"}
        for colour, fill, font in LIGHTS:
            ws.conditional_formatting.add(f"{letter}{first}:{letter}{last}", FormulaRule(
                formula=[f"AND(ISNUMBER({top}),{tests[colour]})"], fill=PatternFill("solid", bgColor=fill),
                font=Font(color=font), stopIfTrue=True))


def _chart(ws, chart: ChartSpec, header: int, first: int, last: int, anchor: str) -> None:  # noqa: ANN001
    count = last - first + 1
    if chart.kind == "line":
        ch = LineChart()
    else:
        ch = BarChart()
        ch.type = "bar" if count > 12 else "col"  # many pilots: horizontal bars, one line each
        ch.height = max(7.5, min(120.0, 0.5 * count + 3)) if count > 12 else 7.5
    ch.title, ch.y_axis.title = chart.title, chart.y_title
    ch.width = 18
    for index in chart.series:
        ch.add_data(Reference(ws, min_col=index + 1, min_row=header, max_row=last), titles_from_data=True)
    ch.set_categories(Reference(ws, min_col=chart.category + 1, min_row=first, max_row=last))
    ws.add_chart(ch, anchor)


def _widths(spec: SheetSpec) -> dict[int, int]:
    widths: dict[int, int] = {}
    for block in spec.blocks:
        for i, col in enumerate(block.columns):
            widths[i] = max(widths.get(i, 0), _width(col))
    return widths


def write_sheet(wb: Workbook, spec: SheetSpec) -> None:
    ws = wb.create_sheet(title=spec.title[:31])
    widths = _widths(spec)
    for i, width in widths.items():
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    ws.freeze_panes = spec.freeze
    anchor = f"{get_column_letter(len(widths) + 2)}2"
    for role, values, extra in _layout(spec):
        if role == "data":
            ws.append([_cell(ws, v, k) for v, k in zip(values, extra, strict=False)])
        elif role == "header":
            ws.append(_header(ws, values))
        elif role == "heading":
            ws.append([_styled(ws, values[0], HEADING_FONT)])
        elif role == "title":
            ws.append([_styled(ws, values[0], TITLE_FONT)])
        elif role == "empty":
            ws.append([_styled(ws, values[0], NOTE_FONT)])
        elif role == "footer":
            ws.append([_formula_or_cell(ws, v, k) for v, k in zip(values, extra, strict=False)])
        elif role == "blank":
            ws.append([])
        else:  # end of a block
            index, header, first, last = extra
            block = spec.blocks[index]
            if index == 0:
                ws.auto_filter.ref = f"A{header}:{get_column_letter(len(block.columns))}{max(last, header + 1)}"
            if last >= first:
                _lights(ws, block, first, last)
                if block.chart:
                    _chart(ws, block.chart, header, first, last, anchor)
                    anchor = f"{get_column_letter(len(widths) + 2)}{header + 20}"


def to_xlsx(data: dict, *, progress: Callable[[str, float], None] | None = None) -> bytes:
    wb = new_workbook()
    specs = sheets(data)
    wb.properties.title = specs[0].heading
    wb.properties.creator = "Branch Pilot Portal"
    for i, spec in enumerate(specs):
        if progress:
            progress(spec.key, i / len(specs))
        write_sheet(wb, spec)
    if progress:
        progress("save", 1.0)
    return to_bytes(wb)
