"""Reading and writing one daily report's rows (internal to the report services: callers
check role, scope, dates and validation first, and hold the pilot row lock).

A write compares the new content with the stored one: identical content is a no-op (a double
submit or a retry changes nothing); otherwise the version must match `expected_version`, the
changed rows are replaced, the version goes up by one, the change is audited with before and
after (changed cells only), and `report_events.report_saved` runs in the same transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from models.org import User
from models.pilot import Pilot
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal import audit, clock, report_events
from portal.access import Actor
from portal.errors import Conflict
from portal.report_validation import TEXT_FIELDS, Content


def lock_pilot(session: Session, pilot_id: int) -> None:
    """Serialise report writes of one pilot (PostgreSQL row lock; SQLite writes begin IMMEDIATE)."""
    session.exec(select(Pilot.id).where(Pilot.id == pilot_id).with_for_update()).one()


def find_report(session: Session, pilot_id: int, report_date: date) -> DailyReport | None:
    return session.exec(select(DailyReport).where(DailyReport.pilot_id == pilot_id,
                                                  DailyReport.report_date == report_date)).first()


def read_content(session: Session, report: DailyReport | None) -> Content:
    content = Content()
    if report is None:
        return content
    for sid, metric, value in session.exec(select(DailyEntry.staff_id, DailyEntry.metric, DailyEntry.value)
                                           .where(DailyEntry.report_id == report.id)).all():
        content.staff.setdefault(sid, {})[metric] = int(value)
    for metric, channel, value in session.exec(select(BranchEntry.metric, BranchEntry.channel, BranchEntry.value)
                                               .where(BranchEntry.report_id == report.id)).all():
        if channel:
            content.channels[channel] = int(value)
        else:
            content.branch[metric] = int(value)
    content.texts = {k: getattr(report, k) or "" for k in TEXT_FIELDS}
    return content


def _changed_staff(before: Content, after: Content) -> list[int]:
    ids = set(before.staff) | set(after.staff)
    return sorted(i for i in ids if before.staff.get(i, {}) != after.staff.get(i, {}))


def _replace_rows(session: Session, report_id: int, before: Content, after: Content, split_metric: str) -> None:
    staff_ids = _changed_staff(before, after)
    if staff_ids:
        session.exec(delete(DailyEntry).where(DailyEntry.report_id == report_id,
                                              col(DailyEntry.staff_id).in_(staff_ids)))
        rows = [{"report_id": report_id, "staff_id": sid, "metric": code, "value": value}
                for sid in staff_ids for code, value in after.staff.get(sid, {}).items()]
        if rows:
            session.exec(insert(DailyEntry), params=rows)
    if before.branch != after.branch or before.channels != after.channels:
        session.exec(delete(BranchEntry).where(BranchEntry.report_id == report_id))
        rows = [{"report_id": report_id, "metric": code, "channel": "", "value": v}
                for code, v in after.branch.items()]
        rows += [{"report_id": report_id, "metric": split_metric, "channel": ch, "value": v}
                 for ch, v in after.channels.items()]
        if rows:
            session.exec(insert(BranchEntry), params=rows)


def conflict(session: Session, report: DailyReport) -> Conflict:
    who = session.get(User, report.updated_by) if report.updated_by else None
    name = (who.display_name or who.username) if who else "cli"
    at = clock.to_local(report.updated_at).strftime("%H:%M")
    return Conflict("reports.err_conflict", user=name, at=at, version=report.version)


def write(session: Session, *, actor: Actor, pilot_id: int, report_date: date, content: Content,
          expected_version: int | None, split_metric: str) -> dict:
    """Store `content` as the report of (pilot, date). `expected_version` None skips the
    optimistic check (imports, which hold the lock and read the current state themselves)."""
    report = find_report(session, pilot_id, report_date)
    current = read_content(session, report)
    if report is not None and current.cells() == content.cells():
        return {"report_id": report.id, "version": report.version, "changed": False}
    current_version = report.version if report else 0
    if expected_version is not None and expected_version != current_version:
        raise conflict(session, report) if report else Conflict("reports.err_conflict_gone")
    now = clock.now_utc()
    if report is None:
        report = DailyReport(pilot_id=pilot_id, report_date=report_date, author_user_id=actor.user_id,
                             version=1, created_at=now, updated_at=now, updated_by=actor.user_id,
                             **content.texts)
        session.add(report)
        session.flush()
    else:
        report.version += 1
        report.updated_at, report.updated_by = now, actor.user_id
        for key, text in content.texts.items():
            setattr(report, key, text)
        session.add(report)
        session.flush()
    _replace_rows(session, report.id, current, content, split_metric)
    old, new = current.cells(), content.cells()
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    audit.record(session, actor=actor, action="reports.save", entity="daily_report", entity_id=report.id,
                 before={"version": current_version, **{k: old.get(k) for k in keys}},
                 after={"version": report.version, "pilot_id": pilot_id, "report_date": report_date,
                        **{k: new.get(k) for k in keys}})
    session.flush()
    report_events.report_saved(session, report.id)
    return {"report_id": report.id, "version": report.version, "changed": True}
