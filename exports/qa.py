"""The Q&A manual grouped by category: a workbook (one filterable sheet) and printable
Markdown. Pure functions from portal.qa.manual rows to bytes."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from exports import markdown as md
from exports.xlsx import Column, add_table_sheet, new_workbook, to_bytes
from portal.i18n import translate


def _t(lang: str, key: str, **kw: object) -> str:
    return translate(lang, f"qa.x.{key}", **kw)


def _category(lang: str, code: str) -> str:
    return translate(lang, f"qa.cat.{code}")


def _rows(lang: str, entries: list[dict]) -> Iterator[tuple]:
    for i, e in enumerate(entries, start=1):
        yield (i, _category(lang, e["category"]), e["question"], e["answer"], e["tags"], e["source_pilot"],
               e["source_date"], e["author"])


def columns(lang: str) -> list[Column]:
    return [Column(_t(lang, "c.no"), "int", 6), Column(_t(lang, "c.category"), width=16),
            Column(_t(lang, "c.question"), width=44), Column(_t(lang, "c.answer"), width=90),
            Column(_t(lang, "c.tags"), width=24), Column(_t(lang, "c.source_pilot"), width=28),
            Column(_t(lang, "c.source_date"), "date", 12), Column(_t(lang, "c.author"), width=16)]


def to_xlsx(entries: list[dict], *, lang: str) -> bytes:
    wb = new_workbook()
    add_table_sheet(wb, _t(lang, "sheet"), columns(lang), _rows(lang, entries), note=_t(lang, "empty"))
    return to_bytes(wb)


def to_markdown(entries: list[dict], *, lang: str) -> bytes:
    parts = [md.heading(1, _t(lang, "title")), md.text(_t(lang, "count", n=len(entries)))]
    number = 0
    for code, group in groupby(entries, key=lambda e: e["category"]):
        parts.append(md.heading(2, _category(lang, code)))
        for e in group:
            number += 1
            parts.append(md.heading(3, f"{number}. {e['question']}"))
            parts.append(md.text(e["answer"]) or md.text(_t(lang, "no_answer")))
            meta = [_t(lang, "tags", tags=e["tags"]) if e["tags"] else "",
                    _t(lang, "source", pilot=e["source_pilot"], date=e["source_date"] or "") if e["source_pilot"]
                    else ""]
            if any(meta):
                parts.append(md.text(" · ".join(m for m in meta if m)))
    return md.document(parts)
