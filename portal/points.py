"""The points ledger: derived from daily reports by the contest's rules, plus manual awards
with approval, plus corrections. Append-only: a changed report adds reversing and new rows,
so the ledger always sums to what the rules give for the current reports."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from models.contests import Contest, ContestParticipant, ContestRule, ManualAward, PointEntry
from models.org import Role, Staff
from models.pilot import Pilot
from models.playbook import Metric
from portal import audit, clock, contests, metrics, report_events
from portal.access import Actor, require_role, subtree
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

REASON_MAX = 300
LEDGER_COLUMNS = ["staff_id", "day", "metric", "quantity", "points_c"]


def _source_metrics(session: Session, rules: list[ContestRule]) -> dict[int, str]:
    """Which reported metric each rule counts: a `valid_only` rule on a raw metric counts its
    validated subset (the metric whose le_code points at it, e.g. wecom_adds → valid_adds)."""
    subset_of = {le: code for code, le in session.exec(select(Metric.code, Metric.le_code)).all() if le}
    return {r.id: (subset_of.get(r.metric, r.metric) if r.valid_only else r.metric) for r in rules}


def _rules(session: Session, contest: Contest) -> list[ContestRule]:
    return list(session.exec(select(ContestRule).where(ContestRule.contest_id == contest.id)
                             .order_by(ContestRule.id)).all())


def desired_points(session: Session, contest: Contest, values: pd.DataFrame) -> pd.DataFrame:
    """Apply the contest's rules to reported values [staff_id, report_date, metric, value]:
    floor(value / unit) × points per unit, capped per rule per day, then per person per day
    (rules allocated in their order). Returns LEDGER_COLUMNS, zero rows dropped."""
    rules = _rules(session, contest)
    if values.empty or not rules:
        return pd.DataFrame(columns=LEDGER_COLUMNS)
    money = set(session.exec(select(Metric.code).where(Metric.kind == "money")).all())
    source = _source_metrics(session, rules)
    frames = []
    for order, rule in enumerate(rules):
        part = values[values["metric"] == source[rule.id]]
        if part.empty:
            continue
        value = part["value"].to_numpy(dtype="int64")
        unit = rule.unit_size * (100 if source[rule.id] in money else 1)  # money values are fen
        points = (value // unit) * rule.points_per_unit_c
        if rule.daily_cap_c:
            points = np.minimum(points, rule.daily_cap_c)
        frames.append(pd.DataFrame({"staff_id": part["staff_id"].to_numpy(), "day": part["report_date"].to_numpy(),
                                    "metric": rule.metric, "quantity": value, "points_c": points, "order": order}))
    if not frames:
        return pd.DataFrame(columns=LEDGER_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    if contest.person_daily_cap_c:
        out = out.sort_values(["staff_id", "day", "order"], kind="stable")
        before = out.groupby(["staff_id", "day"])["points_c"].cumsum() - out["points_c"]
        out["points_c"] = np.clip(contest.person_daily_cap_c - before, 0, out["points_c"])
    out = out[(out["points_c"] != 0) | (out["quantity"] != 0)]
    return out[LEDGER_COLUMNS].reset_index(drop=True)


def _current(session: Session, contest_id: int, staff_ids: set[int], start: date, end: date) -> pd.DataFrame:
    stmt = (select(PointEntry.staff_id, PointEntry.day, PointEntry.metric,
                   func.sum(PointEntry.quantity), func.sum(PointEntry.points_c))
            .where(PointEntry.contest_id == contest_id, PointEntry.metric != "",
                   PointEntry.day >= start, PointEntry.day <= end, col(PointEntry.staff_id).in_(staff_ids or {-1}))
            .group_by(PointEntry.staff_id, PointEntry.day, PointEntry.metric))
    return metrics.frame(session, stmt, LEDGER_COLUMNS)


def sync(session: Session, contest: Contest, *, pilot_ids: list[int], start: date, end: date,
         created_by: int | None = None) -> int:
    """Make the report-derived ledger of `contest` for these pilots' staff and days equal
    what the rules give for the current reports. Returns the number of rows appended."""
    start, end = max(start, contest.start_date), min(end, contest.end_date)
    if start > end:
        return 0
    branches = {session.get(Pilot, pid).branch_id for pid in pilot_ids}
    scope = subtree(session, branches)
    staff_ids = set(session.exec(
        select(ContestParticipant.staff_id).join(Staff, Staff.id == ContestParticipant.staff_id)
        .where(ContestParticipant.contest_id == contest.id, col(Staff.branch_id).in_(scope or {-1}))).all())
    counted = sorted(set(_source_metrics(session, _rules(session, contest)).values()))
    values = metrics.staff_daily_values(session, pilot_ids=pilot_ids, start=start, end=end, metrics=counted)
    values = values[values["staff_id"].isin(staff_ids)]
    want = desired_points(session, contest, values)
    have = _current(session, contest.id, staff_ids, start, end)
    key = ["staff_id", "day", "metric"]
    merged = want.merge(have, on=key, how="outer", suffixes=("", "_have")).fillna(0)
    changed = merged[(merged["points_c"] != merged["points_c_have"]) | (merged["quantity"] != merged["quantity_have"])]
    if changed.empty:
        return 0
    now = clock.now_utc()
    rows = []
    for r in changed.itertuples(index=False):
        base = {"contest_id": contest.id, "staff_id": int(r.staff_id), "day": r.day, "metric": r.metric,
                "created_by": created_by, "created_at": now, "source_ref": ""}
        if r.points_c_have or r.quantity_have:
            rows.append({**base, "quantity": -int(r.quantity_have), "points_c": -int(r.points_c_have),
                         "source": "correction", "reason": "report changed"})
        if r.points_c or r.quantity:
            rows.append({**base, "quantity": int(r.quantity), "points_c": int(r.points_c), "source": "report",
                         "reason": ""})
    session.connection().execute(insert(PointEntry.__table__), rows)  # Core executemany: no per-row ORM work
    return len(rows)


@report_events.on_report_saved
def _on_report_saved(session: Session, report_id: int) -> None:
    from models.reports import DailyReport

    report = session.get(DailyReport, report_id)
    pilot = session.get(Pilot, report.pilot_id)
    for contest in contests.active_contests_for_branch(session, pilot.branch_id, report.report_date):
        sync(session, contest, pilot_ids=[pilot.id], start=report.report_date, end=report.report_date)


def resync_contest(session: Session, *, actor: Actor, contest_id: int) -> int:
    """Re-derive the whole contest from the reports (after set-up mid-pilot or a rule change)."""
    contest = contests.require_contest(session, actor, contest_id, manage=True, action="contests.resync")
    pilot_ids = [contest.pilot_id] if contest.pilot_id else list(session.exec(select(Pilot.id)).all())
    added = sync(session, contest, pilot_ids=pilot_ids, start=contest.start_date, end=contest.end_date,
                 created_by=actor.user_id)
    audit.record(session, actor=actor, action="contests.resync", entity="contest", entity_id=contest_id,
                 after={"rows": added})
    return added


# ---------------------------------------------------------------- manual awards


def _participant(session: Session, contest_id: int, staff_id: int) -> None:
    if session.get(ContestParticipant, (contest_id, staff_id)) is None:
        raise ValidationFailed("contests.err_not_participant")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= REASON_MAX or any(ord(ch) < 32 for ch in reason):
        raise ValidationFailed("contests.err_reason", max=REASON_MAX)
    return reason


def request_award(session: Session, *, actor: Actor, contest_id: int, staff_id: int, points: object,
                  reason: str, day: date | None = None) -> dict:
    """A manual award (e.g. passed the 1v1 check). Above the contest's threshold it waits
    for HQ approval; otherwise it is booked at once."""
    contest = contests.require_contest(session, actor, contest_id, manage=True, action="contests.award")
    _participant(session, contest_id, staff_id)
    points_c = contests.to_centi(points, field="points")
    if points_c <= 0:
        raise ValidationFailed("contests.err_points", field="points")
    day = day or clock.today()
    if not contest.start_date <= day <= contest.end_date:
        raise ValidationFailed("contests.err_day_outside")
    award = ManualAward(contest_id=contest_id, staff_id=staff_id, day=day, points_c=points_c,
                        reason=_reason(reason), requested_by=actor.user_id, requested_at=clock.now_utc())
    session.add(award)
    session.flush()
    if points_c <= contest.approval_threshold_c:
        _book(session, award, approver=actor)
    audit.record(session, actor=actor, action="contests.award", entity="manual_award", entity_id=award.id,
                 after=audit.snapshot(award))
    return {"id": award.id, "status": award.status}


def _book(session: Session, award: ManualAward, *, approver: Actor) -> None:
    award.status = "approved"
    award.decided_by, award.decided_at = approver.user_id, clock.now_utc()
    session.add(award)
    session.add(PointEntry(contest_id=award.contest_id, staff_id=award.staff_id, day=award.day, metric="",
                           quantity=1, points_c=award.points_c, source="manual", source_ref=f"award:{award.id}",
                           reason=award.reason, created_by=approver.user_id, created_at=clock.now_utc()))


def decide_award(session: Session, *, actor: Actor, award_id: int, approve: bool, note: str = "") -> None:
    require_role(actor, Role.hq, action="contests.approve")
    award = session.exec(select(ManualAward).where(ManualAward.id == award_id).with_for_update()).first()
    if award is None:
        raise NotFound("err.not_found", entity="manual_award", id=award_id)
    if award.requested_by == actor.user_id:
        raise PermissionDenied("contests.err_self_approve", action="contests.approve", entity="manual_award",
                               entity_id=award_id)
    if award.status != "pending":
        raise Conflict("contests.err_decided")
    before = audit.snapshot(award)
    if approve:
        _book(session, award, approver=actor)
    else:
        award.status, award.decided_by, award.decided_at = "rejected", actor.user_id, clock.now_utc()
    award.decision_note = (note or "").strip()[:REASON_MAX]
    session.add(award)
    audit.record(session, actor=actor, action="contests.approve" if approve else "contests.reject",
                 entity="manual_award", entity_id=award_id, before=before, after=audit.snapshot(award))


def reverse_entry(session: Session, *, actor: Actor, entry_id: int, reason: str) -> int:
    """Correct a manual award by a reversing entry (report-derived rows follow the reports)."""
    entry = session.get(PointEntry, entry_id)
    if entry is None:
        raise NotFound("err.not_found", entity="point_entry", id=entry_id)
    contests.require_contest(session, actor, entry.contest_id, manage=True, action="contests.correct")
    if entry.source != "manual":
        raise ValidationFailed("contests.err_reverse_source")
    if session.exec(select(PointEntry.id).where(PointEntry.reverses_id == entry_id)).first() is not None:
        raise Conflict("contests.err_reversed")
    row = PointEntry(contest_id=entry.contest_id, staff_id=entry.staff_id, day=entry.day, metric="",
                     quantity=-entry.quantity, points_c=-entry.points_c, source="correction",
                     source_ref=entry.source_ref, reverses_id=entry.id, reason=_reason(reason),
                     created_by=actor.user_id, created_at=clock.now_utc())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="contests.correct", entity="point_entry", entity_id=entry_id,
                 after=audit.snapshot(row))
    return row.id


def pending_awards(session: Session, *, actor: Actor, contest_id: int | None = None) -> pd.DataFrame:
    require_role(actor, Role.hq, Role.coach, action="contests.pending")
    stmt = (select(ManualAward, Staff.name).join(Staff, Staff.id == ManualAward.staff_id)
            .where(ManualAward.status == "pending").order_by(ManualAward.id))
    if contest_id is not None:
        stmt = stmt.where(ManualAward.contest_id == contest_id)
    rows = [(a, name) for a, name in session.exec(stmt).all()
            if contests.can_view(session, actor, session.get(Contest, a.contest_id))]
    return pd.DataFrame([{"id": a.id, "contest_id": a.contest_id, "staff": name, "day": a.day,
                          "points": a.points_c / 100, "reason": a.reason, "requested_by": a.requested_by}
                         for a, name in rows],
                        columns=["id", "contest_id", "staff", "day", "points", "reason", "requested_by"])
