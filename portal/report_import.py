"""Excel round-trip of daily reports: the template's data, and imports.

Columns are recognised by the code in square brackets at the end of each header
("企微添加数（人） [wecom_adds]"), so shuffled columns are fine and renamed or missing ones are
refused. The staff sheet (rows = date × staff member) is required; the branch sheet (rows =
date: branch metrics, channel split, texts) is optional — when absent, those parts of the
reports stay as stored. A hidden sheet carries the pilot id so a file cannot land on the wrong
pilot by mistake.

An import validates every row first (per-row errors with sheet and row number) and then writes
all reports in the one transaction, or none (dry-run: validate only). Rows for a staff member
replace that person's values for that day (a blank cell = not reported); other staff keep theirs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

import pandas as pd
from sqlmodel import Session

from exports import report_template
from portal import audit, clock, db, org, report_store, xlsx_upload
from portal.access import Actor, require_pilot
from portal.errors import ValidationFailed
from portal.i18n import translate
from portal.report_validation import TEXT_FIELDS, Catalogue, load_catalogue
from portal.reports import READ_ROLES, WRITE_ROLES, display_value, edit_refusal, prepare
from portal.xlsx_upload import open_workbook

MAX_TEMPLATE_DAYS = 92
MAX_ROWS = 50_000  # per sheet: a quarter of daily rows for a 500-person branch
META_SHEET = "meta"
STAFF_KEYS = ("date", "employee_no", "name")
_CODE = re.compile(r"\[([a-z0-9_:]+)\]\s*$")


def header(text: str, code: str) -> str:
    return f"{text} [{code}]"


def header_code(value: object) -> str | None:
    match = _CODE.search(unicodedata.normalize("NFKC", str(value or "")))
    return match.group(1) if match else None


def _branch_codes(cat: Catalogue) -> list[str]:
    return [m.code for m in cat.branch] + [f"channel:{c}" for c, _, _ in cat.channels] + list(TEXT_FIELDS)


# ------------------------------------------------------------------ template

def template_data(session: Session, *, actor: Actor, pilot_id: int, start: date, end: date) -> dict:
    """Everything exports.report_template needs: headers, staff rows × dates pre-filled with the
    saved values (display units), branch rows per date. Dates are clipped to the pilot window
    and today."""
    pilot = require_pilot(session, actor, pilot_id, roles=READ_ROLES, action="reports.template")
    lang = actor.language
    first, last = max(start, pilot.start_date), min(end, pilot.end_date, clock.today())
    if (last - first).days >= MAX_TEMPLATE_DAYS:
        raise ValidationFailed("reports.err_range_too_long", days=MAX_TEMPLATE_DAYS)
    cat = load_catalogue(session)
    staff = org.staff_of_branch(session, pilot.branch_id)
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    t = lambda key: translate(lang, key)  # noqa: E731
    staff_cols = [(header(t(f"reports.col.{k}"), k), "date" if k == "date" else "text") for k in STAFF_KEYS]
    staff_cols += [(header(m.header(lang), m.code), "yuan" if m.kind == "money" else "int") for m in cat.staff]
    branch_cols = [(header(t("reports.col.date"), "date"), "date")]
    branch_cols += [(header(m.header(lang), m.code), "int") for m in cat.branch]
    split = cat.by_code.get(cat.split_metric or "")
    branch_cols += [(header(f"{split.name(lang) if split else ''} · {cat.channel_name(c, lang)}", f"channel:{c}"),
                     "int") for c, _, _ in cat.channels]
    branch_cols += [(header(t(f"reports.{k}"), k), "text") for k in TEXT_FIELDS]
    staff_rows, branch_rows = [], []
    for day in dates:
        content = report_store.read_content(session, report_store.find_report(session, pilot.id, day))
        for s in staff:
            values = content.staff.get(s.id, {})
            staff_rows.append([day, s.employee_no, s.name,
                               *(display_value(m, values.get(m.code)) for m in cat.staff)])
        branch_rows.append([day, *(display_value(m, content.branch.get(m.code)) for m in cat.branch),
                            *(content.channels.get(c) for c, _, _ in cat.channels),
                            *(content.texts.get(k, "") for k in TEXT_FIELDS)])
    return {"pilot_id": pilot.id, "pilot_name": pilot.name, "start": first, "end": last,
            "staff_sheet": t("reports.sheet_staff"), "branch_sheet": t("reports.sheet_branch"),
            "notes_sheet": t("reports.sheet_notes"), "notes": [t(f"reports.note.{i}") for i in range(1, 6)],
            "staff_columns": staff_cols, "staff_rows": staff_rows,
            "branch_columns": branch_cols, "branch_rows": branch_rows}


def template_workbook(session: Session, *, actor: Actor, pilot_id: int, start: date, end: date) -> bytes:
    return report_template.build(template_data(session, actor=actor, pilot_id=pilot_id, start=start, end=end))


def template_download(actor: Actor, *, pilot_id: int, start: date, end: date) -> Callable[[], bytes]:
    """A deferred st.download_button `data` callable (it runs outside the page script, so the
    actor is bound now; the service checks scope again when it runs)."""
    return partial(db.run, template_workbook, write=False, actor=actor, pilot_id=pilot_id, start=start, end=end)


# ------------------------------------------------------------------ import

@dataclass
class _Sheet:
    title: str
    codes: dict[str, int]  # code → column index
    rows: list[tuple[int, tuple]]  # (excel row number, values)


@dataclass
class ImportResult:
    rows: int = 0
    dates: list[date] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {sheet, row, message}
    changed: int = 0
    committed: bool = False

    def as_dict(self) -> dict:
        return {"rows": self.rows, "dates": [d.isoformat() for d in self.dates], "changed": self.changed,
                "committed": self.committed, "errors": pd.DataFrame(self.errors, columns=["sheet", "row", "message"])}


def _read_sheets(data: bytes, filename: str) -> tuple[list[_Sheet], int | None]:
    wb = open_workbook(data, filename=filename)
    sheets, pilot_id = [], None
    try:
        for ws in wb.worksheets:
            if ws.title == META_SHEET:
                for key, value, *_ in ws.iter_rows(max_row=5, max_col=2, values_only=True):
                    if key == "pilot_id" and value is not None:
                        pilot_id = int(value) if str(value).isdigit() else -1
                continue
            rows = ws.iter_rows(values_only=True)
            head = next(rows, None) or ()
            if not any(header_code(h) for h in head):
                continue  # notes or other sheets without coded headers
            codes: dict[str, int] = {}
            for i, h in enumerate(head):
                code = header_code(h)
                if h is None or (isinstance(h, str) and not h.strip()):
                    continue
                if code is None or code in codes:
                    raise ValidationFailed("reports.err_header", sheet=ws.title, header=str(h)[:40])
                codes[code] = i
            body = []
            for n, r in enumerate(rows, start=2):
                if any(v is not None and str(v).strip() for v in r):
                    body.append((n, r))
                    if len(body) > MAX_ROWS:
                        raise ValidationFailed("reports.err_too_many_rows", sheet=ws.title, maximum=MAX_ROWS)
            sheets.append(_Sheet(ws.title, codes, body))
    except ValidationFailed:
        raise
    except Exception as exc:  # read-only sheets are parsed only now: damaged XML surfaces here
        raise xlsx_upload.refusal(exc) from exc
    finally:
        wb.close()
    return sheets, pilot_id


def _check_columns(sheet: _Sheet, required: list[str], allowed: set[str]) -> None:
    missing = [c for c in required if c not in sheet.codes]
    unknown = [c for c in sheet.codes if c not in allowed]
    if missing or unknown:
        raise ValidationFailed("reports.err_columns", sheet=sheet.title, missing=", ".join(missing) or "-",
                               unknown=", ".join(unknown) or "-")


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value or "")).strip().replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _cell(row: tuple, sheet: _Sheet, code: str) -> object:
    i = sheet.codes.get(code)
    return row[i] if i is not None and i < len(row) else None


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()


class _Collector:
    def __init__(self, result: ImportResult) -> None:
        self.result = result

    def add(self, sheet: str, row: int, message: str) -> None:
        self.result.errors.append({"sheet": sheet, "row": row, "message": message})


def import_reports(session: Session, *, actor: Actor, pilot_id: int, data: bytes, filename: str = "",
                   dry_run: bool = False) -> dict:
    """Validate every row of an uploaded workbook, then write all its reports or none.
    Returns {rows, dates, changed, committed, errors (DataFrame sheet/row/message)}."""
    pilot = require_pilot(session, actor, pilot_id, roles=WRITE_ROLES, action="reports.import")
    sheets, file_pilot = _read_sheets(data, filename)
    if file_pilot is not None and file_pilot != pilot_id:
        raise ValidationFailed("reports.err_wrong_pilot", file=file_pilot, pilot=pilot_id)
    cat = load_catalogue(session)
    staff_sheet = next((s for s in sheets if "employee_no" in s.codes), None)
    if staff_sheet is None:
        raise ValidationFailed("reports.err_no_staff_sheet")
    staff_codes = [m.code for m in cat.staff]
    _check_columns(staff_sheet, ["date", "employee_no", *staff_codes], {*STAFF_KEYS, *staff_codes})
    branch_sheet = next((s for s in sheets if s is not staff_sheet and "date" in s.codes), None)
    if branch_sheet is not None:
        _check_columns(branch_sheet, ["date", *_branch_codes(cat)], {"date", *_branch_codes(cat)})
    report_store.lock_pilot(session, pilot_id)
    result = ImportResult(rows=len(staff_sheet.rows) + (len(branch_sheet.rows) if branch_sheet else 0))
    out = _Collector(result)
    lang = actor.language
    roster = {s.id: s for s in org.staff_of_branch(session, pilot.branch_id)}
    by_no = {s.employee_no: s for s in roster.values()}
    per_date: dict[date, dict] = defaultdict(lambda: {"staff": {}, "rows": {}, "branch": None, "branch_row": None})

    def day_of(sheet: _Sheet, n: int, row: tuple) -> date | None:
        day = _date(_cell(row, sheet, "date"))
        if day is None:
            out.add(sheet.title, n, translate(lang, "reports.err_date", value=_text(_cell(row, sheet, "date"))[:20]))
            return None
        refusal = edit_refusal(actor, pilot, day)
        if refusal:
            out.add(sheet.title, n, translate(lang, refusal[0], **refusal[1]))
            return None
        return day

    for n, row in staff_sheet.rows:
        day = day_of(staff_sheet, n, row)
        person = by_no.get(_text(_cell(row, staff_sheet, "employee_no")))
        name = _text(_cell(row, staff_sheet, "name"))
        if person is None:
            out.add(staff_sheet.title, n, translate(lang, "reports.err_staff_not_in_branch",
                                                    employee_no=_text(_cell(row, staff_sheet, "employee_no"))[:32] or "-"))
            continue
        if name and name != person.name:
            out.add(staff_sheet.title, n, translate(lang, "reports.err_name_mismatch", employee_no=person.employee_no,
                                                    name=name[:30], expected=person.name))
            continue
        if day is None:
            continue
        entry = per_date[day]
        if person.id in entry["staff"]:
            out.add(staff_sheet.title, n, translate(lang, "reports.err_duplicate_row", first=entry["rows"][person.id]))
            continue
        entry["staff"][person.id] = {c: _cell(row, staff_sheet, c) for c in staff_codes}
        entry["rows"][person.id] = n
    for n, row in (branch_sheet.rows if branch_sheet else []):
        day = day_of(branch_sheet, n, row)
        if day is None:
            continue
        entry = per_date[day]
        if entry["branch"] is not None:
            out.add(branch_sheet.title, n, translate(lang, "reports.err_duplicate_row", first=entry["branch_row"]))
            continue
        entry["branch"] = {m.code: _cell(row, branch_sheet, m.code) for m in cat.branch}
        entry["channels"] = {c: _cell(row, branch_sheet, f"channel:{c}") for c, _, _ in cat.channels}
        entry["texts"] = {k: _cell(row, branch_sheet, k) or "" for k in TEXT_FIELDS}
        entry["branch_row"] = n
    names = {s.id: s.name for s in roster.values()}
    contents = {}
    for day in sorted(per_date):
        entry = per_date[day]
        content, problems = prepare(session, actor=actor, pilot=pilot, report_date=day, cat=cat, roster=names,
                                    staff_values=entry["staff"], branch_values=entry["branch"],
                                    channel_values=entry.get("channels"), texts=entry.get("texts"))
        for p in problems:
            if p.staff_id in entry["rows"]:
                out.add(staff_sheet.title, entry["rows"][p.staff_id], p.message(lang))
            elif entry["branch_row"] is not None:
                out.add(branch_sheet.title, entry["branch_row"], p.message(lang))
            else:
                out.add(staff_sheet.title, min(entry["rows"].values(), default=0), p.message(lang))
        if content.is_empty() and not problems:
            out.add(staff_sheet.title, min(entry["rows"].values(), default=0), translate(lang, "reports.err_empty"))
        contents[day] = content
    result.dates = sorted(per_date)
    result.errors.sort(key=lambda e: (e["sheet"] != staff_sheet.title, e["row"]))
    if result.errors or dry_run or not result.rows:
        return result.as_dict()
    for day, content in contents.items():
        saved = report_store.write(session, actor=actor, pilot_id=pilot_id, report_date=day, content=content,
                                   expected_version=None, split_metric=cat.split_metric or "")
        result.changed += int(saved["changed"])
    audit.record(session, actor=actor, action="reports.import", entity="pilot", entity_id=pilot_id,
                 after={"file": filename[:100], "rows": result.rows, "dates": result.dates, "changed": result.changed})
    result.committed = True
    return result.as_dict()

