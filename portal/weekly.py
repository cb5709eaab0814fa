"""The weekly review workbook head office reads every week: which week and which pilots, who
may ask, gathering the week's data through the domain services, and the audited export.

Three separate steps, so a benchmark (and the UI) can time or call each on its own:

1. `gather(session, actor=…, week=…, pilot_ids=…)` — a read: checks role and scope, returns a
   dict of plain values and DataFrames (see portal.weekly_data / portal.weekly_kpis);
2. `exports.weekly.to_xlsx(data)` — pure: data → xlsx bytes (streamed, write-only mode);
3. `record_export(session, actor=…, …)` — the audit row, in a small write of its own.

`build()` runs the three in order (the CLI and the page's download button both call it), and
`download()` returns it as the deferred `data` callable of st.download_button.

A week is an ISO week in Asia/Shanghai written "2026-W47"; the default is the last complete
one. Without explicit pilot ids the review covers every pilot the actor may see whose window
(start – end) overlaps the week.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

import pandas as pd
from sqlmodel import Session, col, select

from models.org import Branch, Role
from models.pilot import Pilot
from portal import audit, clock, db, weekly_data, weekly_kpis
from portal.access import Actor, require_role
from portal.errors import NotFound, ValidationFailed
from portal.i18n import LANGUAGES
from portal.metrics import visible_pilots
from portal.pilots import pilot_day

ROLES = (Role.hq, Role.coach, Role.branch_lead)
ACTION = "weekly.export"
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PILOT_COLUMNS = ["pilot_id", "pilot", "branch_id", "branch", "region", "phase", "start_date", "end_date", "day",
                 "days"]
Progress = Callable[[str, float], None]


# ------------------------------------------------------------------ weeks

def week_label(day: date) -> str:
    """The ISO week of `day`, e.g. "2026-W47"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(today: date | None = None) -> str:
    today = today or clock.today()
    return week_label(today - timedelta(days=today.weekday() + 7))


def parse_week(text: object, *, today: date | None = None) -> tuple[date, date]:
    """(Monday, Sunday) of a week written exactly like "2026-W47"; refuses other spellings,
    week numbers the year does not have (W00, W53 in a 52-week year, W60) and future weeks."""
    raw = str(text if text is not None else "").strip()
    match = WEEK_RE.fullmatch(raw)
    shown = raw[:20]
    if not match:
        raise ValidationFailed("weekly.err_week", value=shown)
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValidationFailed("weekly.err_week", value=shown) from exc
    if monday > (today or clock.today()):
        raise ValidationFailed("weekly.err_future", value=shown)
    return monday, monday + timedelta(days=6)


def week_choices(count: int = 12, today: date | None = None) -> list[str]:
    """The current week and the `count` weeks before it, newest first (index 1 is the default:
    the last complete week)."""
    today = today or clock.today()
    return [week_label(today - timedelta(days=7 * n)) for n in range(count + 1)]


# ------------------------------------------------------------------ scope

def _pilots(session: Session, actor: Actor, pilot_ids: list[int] | None, monday: date,
            sunday: date) -> pd.DataFrame:
    """The pilots of the review, each scope-checked (PermissionDenied names the first one
    outside the actor's scope); without ids, the visible pilots running during the week."""
    ids = visible_pilots(session, actor=actor, pilot_ids=None if pilot_ids is None else [int(p) for p in pilot_ids],
                         action=ACTION)
    stmt = (select(Pilot, Branch.name, Branch.region).join(Branch, Branch.id == Pilot.branch_id)
            .where(col(Pilot.id).in_(ids or [-1])).order_by(Pilot.start_date, Pilot.id))
    if pilot_ids is None:
        stmt = stmt.where(Pilot.start_date <= sunday, Pilot.end_date >= monday)
    rows = session.exec(stmt).all()
    if pilot_ids is not None and len(rows) != len(ids):
        missing = sorted(set(ids) - {p.id for p, _, _ in rows})
        raise NotFound("err.not_found", entity="pilot", id=missing[0])
    return pd.DataFrame([{
        "pilot_id": p.id, "pilot": p.name, "branch_id": p.branch_id, "branch": branch, "region": region,
        "phase": p.phase, "start_date": p.start_date, "end_date": p.end_date,
        "day": pilot_day(p.start_date, p.end_date, sunday), "days": (p.end_date - p.start_date).days + 1,
    } for p, branch, region in rows], columns=PILOT_COLUMNS)


# ------------------------------------------------------------------ the three steps

def gather(session: Session, *, actor: Actor, week: str | None = None, pilot_ids: list[int] | None = None,
           lang: str | None = None) -> dict:
    """Everything the workbook shows, as plain values and DataFrames (money in yuan, rates
    as fractions). A read: nothing is written."""
    require_role(actor, *ROLES, action=ACTION)
    lang = lang or actor.language
    if lang not in LANGUAGES:
        raise ValidationFailed("weekly.err_lang", value=str(lang)[:8])
    label = week or last_complete_week()
    monday, sunday = parse_week(label)
    pilots = _pilots(session, actor, pilot_ids, monday, sunday)
    ids = pilots["pilot_id"].tolist()
    who = weekly_data.reader(actor, lang)
    trend = weekly_kpis.trend(session, pilots, sunday, lang)
    data = {
        "week": label, "monday": monday, "sunday": sunday, "lang": lang, "pilot_ids": ids, "pilots": pilots,
        "key_metric": weekly_kpis.key_metric(session, lang),
        "kpis": weekly_kpis.kpis(session, pilots, monday, sunday, lang),
        "trend": trend, "trend_chart": weekly_kpis.trend_chart(trend),
        "daily": weekly_data.daily(session, ids, monday, sunday, lang),
        "sop": weekly_data.sop(session, who, ids, monday, sunday),
        "stages": weekly_data.stages(session, pilots, monday, sunday, lang),
        "notes": weekly_data.notes(session, who, ids, monday, sunday),
        "ranking": weekly_data.ranking(session, ids, monday, sunday),
        "budget": weekly_data.budget(session, who, ids, monday, sunday),
    }
    data["summary"] = weekly_data.summary(session, who, data)
    return data


def record_export(session: Session, *, actor: Actor, week: str, pilot_ids: list[int], lang: str,
                  size: int) -> None:
    """The audit row of an export (who, which week, which pilots), written after the read."""
    audit.record(session, actor=actor, action=ACTION, entity="weekly_review", entity_id=week,
                 after={"week": week, "pilots": list(pilot_ids), "lang": lang, "bytes": size})


def build(*, actor: Actor, week: str | None = None, pilot_ids: list[int] | None = None, lang: str | None = None,
          engine=None, progress: Progress | None = None) -> bytes:  # noqa: ANN001
    """Read, render, then audit — each step on its own, so the file is never built inside a
    write transaction. The CLI and the download button both call this."""
    from exports import weekly as export

    report = progress or (lambda _label, _fraction: None)
    report("gather", 0.0)
    data = db.run(gather, engine=engine, write=False, actor=actor, week=week, pilot_ids=pilot_ids, lang=lang)
    content = export.to_xlsx(data, progress=lambda label, f: report(label, 0.2 + 0.75 * f))
    db.run(record_export, engine=engine, actor=actor, week=data["week"], pilot_ids=data["pilot_ids"],
           lang=data["lang"], size=len(content))
    report("done", 1.0)
    return content


def download(actor: Actor, *, week: str, pilot_ids: list[int] | None = None,
             lang: str | None = None) -> Callable[[], bytes]:
    """A deferred st.download_button `data` callable: runs on click, outside the page script
    (the actor is bound now; the service checks role and scope again when it runs)."""
    return partial(build, actor=actor, week=week, pilot_ids=pilot_ids, lang=lang)


def file_name(week: str, pilot_ids: list[int] | None = None) -> str:
    suffix = f"_pilot{pilot_ids[0]}" if pilot_ids and len(pilot_ids) == 1 else ""
    return f"weekly_review_{week}{suffix}.xlsx"
