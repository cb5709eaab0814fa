"""Daily progress reports: one per pilot per calendar day (Asia/Shanghai).

Who: the pilot's coaches and HQ write; the branch lead of the pilot's branch reads; staff
have no access. When: never a future date, never outside the pilot window (start..end);
coaches may edit today and the previous COACH_BACKFILL_DAYS days (so the numbers the contest
and the weekly review already used do not drift silently); HQ may back-fill any past date in
the window.

Saving upserts the one report of (pilot, date) under the pilot row lock: identical content is a
no-op (double submit, retry); otherwise `expected_version` must match the stored version or
the writer gets Conflict (and the page reloads the newer values). Validation is all-or-nothing
(portal.report_validation).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from models.org import Role, Staff, User
from models.pilot import Pilot
from portal import clock, metrics, org, qa, report_store
from portal.access import Actor, require_pilot
from portal.errors import ValidationFailed
from portal.metric_engine import pilot_bases, pilot_frame, rates_from_totals
from portal.report_validation import (
    TEXT_FIELDS,
    Catalogue,
    Content,
    MetricSpec,
    Problem,
    ReportInvalid,
    channel_spec,
    check,
    load_catalogue,
    merge,
    parse_input,
)

COACH_BACKFILL_DAYS = 7
READ_ROLES = (Role.hq, Role.coach, Role.branch_lead)
WRITE_ROLES = (Role.hq, Role.coach)


def edit_refusal(actor: Actor, pilot: Pilot, report_date: date) -> tuple[str, dict] | None:
    """Why `actor` may not write the report of `report_date` (message key, params), or None."""
    today = clock.today()
    if actor.role not in WRITE_ROLES:
        return "reports.read_only", {}
    if report_date > today:
        return "reports.err_future", {"date": report_date.isoformat()}
    if not pilot.start_date <= report_date <= pilot.end_date:
        return "reports.err_outside_window", {"date": report_date.isoformat(), "start": pilot.start_date.isoformat(),
                                              "end": pilot.end_date.isoformat()}
    if actor.role == Role.coach and (today - report_date).days > COACH_BACKFILL_DAYS:
        return "reports.err_too_old", {"days": COACH_BACKFILL_DAYS}
    return None


def display_value(spec: MetricSpec, value: int | float | None) -> float | int | None:
    """Stored integer → what people type (money in yuan)."""
    if value is None or pd.isna(value):
        return None
    return value / 100 if spec.kind == "money" else int(value)


def values_from_grid(grid: pd.DataFrame, codes: list[str]) -> dict[int, dict[str, object]]:
    """An edited grid (one row per staff_id) → raw cells for save/check; empty cells → None."""
    # Column by column: to_dict("records") boxed every cell and was a tenth of a warm rerun.
    cells = {c: [None if pd.isna(v) else v for v in grid[c].tolist()] if c in grid else [None] * len(grid)
             for c in codes}
    return {int(sid): {c: cells[c][i] for c in codes} for i, sid in enumerate(grid["staff_id"].tolist())}


def _roster(session: Session, pilot: Pilot) -> dict[int, str]:
    return {s.id: s.name for s in org.staff_of_branch(session, pilot.branch_id)}


def _names(session: Session, roster: dict[int, str], content: Content) -> dict[int, str]:
    others = [i for i in content.staff if i not in roster]
    extra = dict(session.exec(select(Staff.id, Staff.name).where(col(Staff.id).in_(others))).all()) if others else {}
    return {**roster, **extra}


def prepare(session: Session, *, actor: Actor, pilot: Pilot, report_date: date, cat: Catalogue,
            roster: dict[int, str], staff_values: dict | None = None, branch_values: dict | None = None,
            channel_values: dict | None = None, texts: dict | None = None) -> tuple[Content, list[Problem]]:
    """The content a write would store and every problem with it (nothing written)."""
    parsed = parse_input(cat, lang=actor.language, roster=roster, staff_values=staff_values,
                         branch_values=branch_values, channel_values=channel_values, texts=texts)
    current = report_store.read_content(session, report_store.find_report(session, pilot.id, report_date))
    content = merge(current, parsed)
    problems = check(cat, parsed, content, lang=actor.language, names=_names(session, roster, content),
                     active_staff=len(roster))
    return content, problems


def _texts(highlights: str | None, blockers: str | None, next_steps: str | None) -> dict | None:
    given = {k: v for k, v in zip(TEXT_FIELDS, (highlights, blockers, next_steps), strict=True) if v is not None}
    return given or None


def save_report(session: Session, *, actor: Actor, pilot_id: int, report_date: date, expected_version: int | None,
                staff_values: dict[int, dict[str, object]] | None = None, branch_values: dict | None = None,
                channel_values: dict | None = None, highlights: str | None = None, blockers: str | None = None,
                next_steps: str | None = None) -> dict:
    """Insert or update the report of (pilot, date). A staff row given replaces that person's
    values (blank = not reported); a section left None keeps what is stored.
    Returns {report_id, version, changed}."""
    pilot = require_pilot(session, actor, pilot_id, roles=WRITE_ROLES, action="reports.save")
    refusal = edit_refusal(actor, pilot, report_date)
    if refusal:
        raise ValidationFailed(refusal[0], **refusal[1])
    report_store.lock_pilot(session, pilot_id)
    cat = load_catalogue(session)
    content, problems = prepare(session, actor=actor, pilot=pilot, report_date=report_date, cat=cat,
                                roster=_roster(session, pilot), staff_values=staff_values,
                                branch_values=branch_values, channel_values=channel_values,
                                texts=_texts(highlights, blockers, next_steps))
    if problems:
        raise ReportInvalid(problems)
    if content.is_empty():
        raise ValidationFailed("reports.err_empty")
    return report_store.write(session, actor=actor, pilot_id=pilot_id, report_date=report_date, content=content,
                              expected_version=expected_version, split_metric=cat.split_metric or "")


def check_report(session: Session, *, actor: Actor, pilot_id: int, report_date: date,
                 staff_values: dict | None = None, branch_values: dict | None = None,
                 channel_values: dict | None = None) -> dict:
    """Live feedback while typing (nothing saved): problems as text, totals (money in yuan) and
    the day's rates of the report as it would be stored."""
    pilot = require_pilot(session, actor, pilot_id, roles=READ_ROLES, action="reports.view")
    cat = load_catalogue(session)
    roster = _roster(session, pilot)
    content, problems = prepare(session, actor=actor, pilot=pilot, report_date=report_date, cat=cat, roster=roster,
                                staff_values=staff_values, branch_values=branch_values,
                                channel_values=channel_values)
    stored = {m.code: sum(row.get(m.code, 0) for row in content.staff.values()) for m in cat.staff}
    stored.update(content.branch)
    bases = pilot_bases(session, pilot_frame(session, [pilot_id])).iloc[0].to_dict()
    names = {**roster, **_names(session, roster, content)}
    return {
        "problems": [{"row": names.get(p.staff_id, "") if p.staff_id else "", "message": p.message(actor.language)}
                     for p in problems],
        "totals": {m.code: display_value(m, stored.get(m.code)) for m in (*cat.staff, *cat.branch)},
        "rates": rates_from_totals(session, {**stored, **bases}),
    }


def _who(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return (user.display_name or user.username) if user else "cli"


def load_report(session: Session, *, actor: Actor, pilot_id: int, report_date: date) -> dict:
    """Everything the report page shows for (pilot, date): the grid (one row per active staff
    member, a column per staff metric, values in display units), branch metrics, channel split,
    texts, version and whether the actor may edit it."""
    pilot = require_pilot(session, actor, pilot_id, roles=READ_ROLES, action="reports.view")
    cat = load_catalogue(session)
    lang = actor.language
    staff = org.staff_of_branch(session, pilot.branch_id)
    report = report_store.find_report(session, pilot_id, report_date)
    content = report_store.read_content(session, report)
    # Built from whole columns, so the metrics share one float block: a frame whose columns were
    # replaced one by one is consolidated again by every copy (the data editor copies it at
    # every click).
    grid = pd.DataFrame({
        "staff_id": [s.id for s in staff], "employee_no": [s.employee_no for s in staff],
        "name": [s.name for s in staff],
        **{m.code: np.array([display_value(m, content.staff.get(s.id, {}).get(m.code)) for s in staff],
                            dtype="float64") for m in cat.staff},
    }, columns=["staff_id", "employee_no", "name", *(m.code for m in cat.staff)])
    refusal = edit_refusal(actor, pilot, report_date)

    def column(m: MetricSpec, value: object = None) -> dict:
        return {"code": m.code, "header": m.header(lang), "kind": m.kind, "min": m.min_value, "max": m.max_value,
                "value": value}

    split = channel_spec(cat, len(staff))
    last = min(clock.today(), pilot.end_date)
    return {
        "pilot_id": pilot.id, "pilot_name": pilot.name, "start_date": pilot.start_date, "end_date": pilot.end_date,
        "report_date": report_date, "exists": report is not None, "version": report.version if report else 0,
        "editable": refusal is None, "lock": refusal,
        "updated_by": _who(session, report.updated_by) if report else "",
        "updated_at": clock.to_local(report.updated_at).strftime("%Y-%m-%d %H:%M") if report else "",
        "columns": [column(m) for m in cat.staff],
        "grid": grid,
        "branch": [column(m, display_value(m, content.branch.get(m.code))) for m in cat.branch],
        "channels": [{"code": code, "header": cat.channel_name(code, lang), "max": split.max_value if split else 0,
                      "value": content.channels.get(code)} for code, _, _ in cat.channels],
        "texts": dict(content.texts),
        "template_range": None if last < pilot.start_date else
        (max(pilot.start_date, last - timedelta(days=6)), last, pilot.start_date),
    }


def blocker_draft(session: Session, *, actor: Actor, pilot_id: int, report_date: date, category: str) -> int:
    """Turn the saved blocker text of a report into a Q&A manual draft linked to the pilot and
    date (one line, shortened to the manual's question length). Returns the entry id."""
    require_pilot(session, actor, pilot_id, roles=WRITE_ROLES, action="reports.blocker_draft")
    report = report_store.find_report(session, pilot_id, report_date)
    text = " ".join((report.blockers if report else "").split())
    if not text:
        raise ValidationFailed("reports.qa_no_blocker")
    if len(text) > qa.MAX_QUESTION:
        text = text[:qa.MAX_QUESTION - 1] + "…"
    return qa.create_entry(session, actor=actor, category=category, question_zh=text, status="draft",
                           source_pilot_id=pilot_id, source_date=report_date)


def orientation(session: Session, *, actor: Actor, pilot_id: int, report_date: date, days: int = 7) -> dict:
    """For orientation beside the grid: the previous day's totals and rates, and a daily frame
    [period, metrics…, rates…] of the `days` days before `report_date` (money in yuan)."""
    require_pilot(session, actor, pilot_id, roles=READ_ROLES, action="reports.view")
    previous = report_date - timedelta(days=1)
    wide = metrics.totals(session, actor=actor, pilot_ids=[pilot_id], start=report_date - timedelta(days=days),
                          end=previous, by="day", with_rates=True)
    row = wide[wide["period"] == previous]
    yesterday = {} if row.empty else {k: (None if pd.isna(v) else float(v)) for k, v in row.iloc[0].items()
                                      if k not in ("pilot_id", "period", "days")}
    return {"date": previous, "yesterday": yesterday, "trend": wide.drop(columns=["pilot_id", "days"])}
