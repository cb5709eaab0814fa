"""The weekly review's data, sheet by sheet, gathered through the domain services (SOP,
budget, metrics, leaderboards) or with one grouped query each where no bulk service exists
(the daily grid, maturity changes, blockers, Q&A). Internal: portal.weekly checks role and
scope first and passes only pilots the actor may see. Money in yuan, rates as fractions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from models.budget import SPENT_STATUSES, BudgetCategory, BudgetLine, BudgetStatus
from models.contests import Contest, ContestParticipant, ContestTeam, PointEntry
from models.org import Branch, Staff, User
from models.playbook import Metric, QaEntry, Stage
from models.programme import StageAssessment
from models.reports import DailyEntry, DailyReport
from portal import budget as budget_service
from portal import clock, metrics, qa, sop_views
from portal.access import Actor
from portal.i18n import label
from portal.metric_engine import report_window
from portal.query_frame import frame
from portal.weekly_kpis import KEY_METRIC

DAYS = 7
DAY_COLUMNS = [f"d{i}" for i in range(DAYS)]


def as_of(sunday: date) -> date:
    """The day the week is judged on: the Monday after it, or today for the current week
    (things due or missing "before as_of" are late)."""
    return min(sunday + timedelta(days=1), clock.today())


def reader(actor: Actor, lang: str) -> Actor:
    """The actor reading in the workbook's language (services label seed text by it)."""
    return actor if actor.language == lang else replace(actor, language=lang)


# ------------------------------------------------------------------ daily grid

def metric_catalogue(session: Session, lang: str) -> dict[str, dict]:
    return {m.code: {"name": label(lang, m.name_zh, m.name_en), "unit": label(lang, m.unit_zh, m.unit_en),
                     "kind": m.kind, "order": m.sort_order}
            for m in session.exec(select(Metric).where(Metric.level == "staff"))}


def daily(session: Session, ids: list[int], monday: date, sunday: date, lang: str) -> dict:
    """The week's staff values per pilot × staff member × metric, a column per day (d0 = Monday)
    and the week total, pivoted and summed in SQL; plus per pilot × metric totals."""
    dates = [monday + timedelta(days=i) for i in range(DAYS)]
    sums = [func.sum(case((DailyReport.report_date == d, DailyEntry.value))).label(c)
            for d, c in zip(dates, DAY_COLUMNS, strict=True)]
    keys = (DailyReport.pilot_id, DailyEntry.staff_id, DailyEntry.metric)
    grid = report_window(select(*keys, *sums, func.sum(DailyEntry.value).label("total"))
                         .join(DailyReport, DailyReport.id == DailyEntry.report_id), ids, monday, sunday)
    grid = grid.group_by(*keys).subquery()
    stmt = (select(grid.c.pilot_id, grid.c.staff_id, Staff.employee_no, Staff.name, Branch.name, grid.c.metric,
                   *(grid.c[c] for c in DAY_COLUMNS), grid.c.total)
            .join(Staff, Staff.id == grid.c.staff_id).join(Branch, Branch.id == Staff.branch_id)
            .outerjoin(Metric, Metric.code == grid.c.metric)
            .order_by(grid.c.pilot_id, Staff.employee_no, Metric.sort_order, grid.c.metric))
    columns = ["pilot_id", "staff_id", "employee_no", "staff", "outlet", "metric", *DAY_COLUMNS, "total"]
    rows = frame(session, stmt, columns)
    catalogue = metric_catalogue(session, lang)
    values = [*DAY_COLUMNS, "total"]
    rows[values] = rows[values].astype("float64")  # PostgreSQL sums bigint as numeric
    money = rows["metric"].map(lambda c: catalogue.get(c, {}).get("kind") == "money").to_numpy()
    rows.loc[money, values] = rows.loc[money, values] / 100
    totals = (rows.groupby(["pilot_id", "metric"], sort=False)[values].sum(min_count=1).reset_index())
    if not totals.empty:
        order = totals["metric"].map(lambda c: catalogue.get(c, {}).get("order", 999))
        totals = totals.assign(order=order).sort_values(["pilot_id", "order"], kind="stable").drop(columns="order")
    return {"dates": dates, "metrics": catalogue, "rows": rows, "totals": totals.reset_index(drop=True)}


# ------------------------------------------------------------------ SOP, budget

def sop(session: Session, actor: Actor, ids: list[int], monday: date, sunday: date) -> pd.DataFrame:
    """Items due this week plus older ones still open (sop_views.items_due), judged on as_of."""
    return sop_views.items_due(session, actor=actor, pilot_ids=ids, start=monday, end=sunday, on=as_of(sunday))


def _yuan(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in [c for c in out.columns if c.endswith("_fen")]:
        out[c[:-4] + "_yuan"] = out.pop(c).astype("float64") / 100
    return out


def _categories(session: Session, ids: list[int]) -> pd.DataFrame:
    """Totals by category over the pilots: plan (lines not cancelled), still planned,
    committed, paid, actual (committed + paid), plan left and each category's share of actual."""
    stmt = (select(BudgetLine.category, BudgetLine.status, func.sum(BudgetLine.planned_fen),
                   func.sum(BudgetLine.actual_fen))
            .where(col(BudgetLine.pilot_id).in_(ids or [-1])).group_by(BudgetLine.category, BudgetLine.status))
    sums = {(c, s): (int(p or 0), int(a or 0)) for c, s, p, a in session.exec(stmt).all()}
    rows = []
    for cat in BudgetCategory:
        plan = sum(p for (c, s), (p, _a) in sums.items() if c == cat and s != BudgetStatus.cancelled)
        spent = {s: sums.get((cat.value, s), (0, 0))[1] for s in SPENT_STATUSES}
        actual = sum(spent.values())
        rows.append({"category": cat.value, "plan_fen": plan,
                     "pending_fen": sums.get((cat.value, BudgetStatus.planned.value), (0, 0))[0],
                     "committed_fen": spent[BudgetStatus.committed], "paid_fen": spent[BudgetStatus.paid],
                     "actual_fen": actual, "plan_left_fen": max(0, plan - actual)})
    df = pd.DataFrame(rows)
    total = df["actual_fen"].sum()
    df["share"] = df["actual_fen"] / total if total else 0.0
    return _yuan(df)


def budget(session: Session, actor: Actor, ids: list[int], monday: date, sunday: date) -> dict:
    """Per pilot: limit, used, headroom and projection (budget.summary); totals by category;
    the lines created or changed this week (budget.lines_changed)."""
    pilots = budget_service.summary(session, actor=actor, pilot_ids=ids, on=sunday)
    lines = budget_service.lines_changed(session, actor=actor, pilot_ids=ids, start=monday, end=sunday)
    changed = lines["pilot_id"].value_counts()
    pilots["changed_lines"] = pilots["pilot_id"].map(changed).fillna(0).astype(int)
    pilots["used_share"] = pilots["used_pct"] / 100
    return {"pilots": _yuan(pilots), "categories": _categories(session, ids), "lines": _yuan(lines)}


# ------------------------------------------------------------------ PK ranking

RANK_COLUMNS = ["contest_id", "contest", "pilot_id", "rank", "prev_rank", "move", "employee_no", "name", "team",
                "points"]
TEAM_COLUMNS = ["contest_id", "contest", "pilot_id", "rank", "prev_rank", "move", "team", "members", "points",
                "per_member"]


def _boards(session: Session, contests: list[Contest], start: date, end: date) -> pd.DataFrame:
    """leaderboard.standings of many contests in one query: every participant with points in
    [start, end] (within each contest's own dates) and RANK() per contest, ties sharing."""
    cids = [c.id for c in contests if c.start_date <= end and c.end_date >= start]
    totals = (select(PointEntry.contest_id, PointEntry.staff_id, func.sum(PointEntry.points_c).label("points_c"))
              .join(Contest, Contest.id == PointEntry.contest_id)
              .where(col(PointEntry.contest_id).in_(cids or [-1]), PointEntry.day >= start, PointEntry.day <= end,
                     PointEntry.day >= Contest.start_date, PointEntry.day <= Contest.end_date)
              .group_by(PointEntry.contest_id, PointEntry.staff_id).subquery())
    points = func.coalesce(totals.c.points_c, 0)
    rank = func.rank().over(partition_by=ContestParticipant.contest_id, order_by=points.desc())
    stmt = (select(ContestParticipant.contest_id, rank, ContestParticipant.staff_id, Staff.employee_no, Staff.name,
                   ContestParticipant.team_id, points)
            .join(Staff, Staff.id == ContestParticipant.staff_id)
            .outerjoin(totals, and_(totals.c.contest_id == ContestParticipant.contest_id,
                                    totals.c.staff_id == ContestParticipant.staff_id))
            .where(col(ContestParticipant.contest_id).in_(cids or [-1]))
            .order_by(ContestParticipant.contest_id, points.desc(), Staff.employee_no))
    df = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()],
                      columns=["contest_id", "rank", "staff_id", "employee_no", "name", "team_id", "points_c"])
    df["points"] = df["points_c"].astype("float64") / 100
    return df.drop(columns="points_c")


def _teams(people: pd.DataFrame) -> pd.DataFrame:
    """leaderboard.teams_of for many contests: teams ranked per contest by points per member."""
    df = people.dropna(subset=["team_id"])
    if df.empty:
        return pd.DataFrame(columns=["contest_id", "team_id", "members", "points", "per_member", "rank"])
    grouped = df.groupby(["contest_id", "team_id"]).agg(members=("staff_id", "count"),
                                                        points=("points", "sum")).reset_index()
    grouped["per_member"] = (grouped["points"] / grouped["members"]).round(2)
    grouped["rank"] = grouped.groupby("contest_id")["per_member"].rank(method="min", ascending=False).astype(int)
    return grouped


def _moved(now: pd.DataFrame, before: pd.DataFrame, key: str, running: set[int]) -> pd.DataFrame:
    """Add prev_rank (empty when the contest did not run the week before) and move = places
    gained (positive = up; 0 without a previous rank), as leaderboard.with_movement."""
    prev = before.set_index(["contest_id", key])["rank"]
    out = now.copy()
    index = pd.MultiIndex.from_arrays([out["contest_id"], out[key]])
    out["prev_rank"] = prev.reindex(index).to_numpy()
    out.loc[~out["contest_id"].isin(running), "prev_rank"] = np.nan
    out["move"] = (out["prev_rank"] - out["rank"]).fillna(0).astype(int)
    return out


def ranking(session: Session, ids: list[int], monday: date, sunday: date) -> dict:
    """End-of-week individual and team boards of the pilots' contests that ran this week, with
    the rank of the week before and the places gained — two grouped queries for all contests."""
    contests = session.exec(select(Contest).where(col(Contest.pilot_id).in_(ids or [-1]))).all()
    info = pd.DataFrame([(c.id, c.name, c.pilot_id, c.start_date, c.id) for c in contests],
                        columns=["contest_id", "contest", "pilot_id", "start_date", "order"])
    before_monday, before_sunday = monday - timedelta(days=7), sunday - timedelta(days=7)
    running = {c.id for c in contests if c.start_date <= before_sunday and c.end_date >= before_monday}
    now, before = _boards(session, contests, monday, sunday), _boards(session, contests, before_monday, before_sunday)
    teams = dict(session.exec(select(ContestTeam.id, ContestTeam.name)
                              .where(col(ContestTeam.contest_id).in_(info["contest_id"].tolist() or [-1]))).all())
    people = _moved(now, before, "staff_id", running).assign(team=lambda d: d["team_id"].map(teams))
    groups = _moved(_teams(now), _teams(before), "team_id", running).assign(team=lambda d: d["team_id"].map(teams))
    order = ["pilot_id", "start_date", "order", "rank"]
    individual = people.merge(info, on="contest_id").sort_values([*order, "employee_no"], kind="stable")
    team = groups.merge(info, on="contest_id").sort_values([*order, "team"], kind="stable")
    return {"individual": individual[RANK_COLUMNS].reset_index(drop=True),
            "teams": team[TEAM_COLUMNS].reset_index(drop=True)}


# ------------------------------------------------------------------ maturity stages

STAGE_COLUMNS = ["branch_id", "branch", "pilots", "stage", "stage_name", "assessed_on", "suggested", "overridden",
                 "criteria_met", "criteria_total", "previous", "change", "note", "confirmed_by"]


def stages(session: Session, pilots: pd.DataFrame, monday: date, sunday: date, lang: str) -> pd.DataFrame:
    """Per branch of the pilots: the confirmed stage at the end of the week, the exit criteria
    of that stage met at its assessment, and the stage it moved from if HQ confirmed a change
    during the week."""
    branches = pilots.drop_duplicates("branch_id")[["branch_id", "branch"]]
    pilot_names = pilots.groupby("branch_id")["pilot"].agg("、".join)
    names = {s.order: label(lang, s.name_zh, s.name_en) for s in session.exec(select(Stage))}
    orders = {s.code: s.order for s in session.exec(select(Stage))}
    rows = session.exec(select(StageAssessment, User.display_name)
                        .outerjoin(User, User.id == StageAssessment.confirmed_by)
                        .where(col(StageAssessment.branch_id).in_(branches["branch_id"].tolist() or [-1]),
                               StageAssessment.assessed_on <= sunday)
                        .order_by(StageAssessment.branch_id, StageAssessment.assessed_on, StageAssessment.id)).all()
    history: dict[int, list] = {}
    for assessment, who in rows:
        history.setdefault(assessment.branch_id, []).append((assessment, who or ""))
    out = []
    for b in branches.itertuples():
        past = history.get(b.branch_id, [])
        row = {"branch_id": b.branch_id, "branch": b.branch, "pilots": pilot_names[b.branch_id], "stage": None, "stage_name": "", "assessed_on": None,
               "suggested": "", "overridden": None, "criteria_met": None, "criteria_total": None,
               "previous": "", "change": False, "note": "", "confirmed_by": ""}
        if past:
            last, who = past[-1]
            mine = [c for c in last.criteria or [] if orders.get(c.get("stage")) == last.stage]
            before = [a for a, _ in past if a.assessed_on < monday]
            moved = last.assessed_on >= monday and (not before or before[-1].stage != last.stage)
            row.update(stage=last.stage, stage_name=names.get(last.stage, ""), assessed_on=last.assessed_on,
                       suggested=names.get(last.suggested_stage, ""), overridden=last.overridden,
                       criteria_met=sum(1 for c in mine if c.get("met")), criteria_total=len(mine),
                       previous=names.get(before[-1].stage, "") if moved and before else "", change=moved,
                       note=last.note, confirmed_by=who)
        out.append(row)
    return pd.DataFrame(out, columns=STAGE_COLUMNS)


# ------------------------------------------------------------------ blockers and Q&A

def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.SHANGHAI)


def notes(session: Session, actor: Actor, ids: list[int], monday: date, sunday: date) -> dict:
    """The week's blockers from the daily reports, and the Q&A entries the pilots added this
    week (drafts only for editors, as in the Q&A manual)."""
    blockers = session.exec(select(DailyReport.pilot_id, DailyReport.report_date, DailyReport.blockers,
                                   DailyReport.next_steps, User.display_name)
                            .outerjoin(User, User.id == DailyReport.author_user_id)
                            .where(col(DailyReport.pilot_id).in_(ids or [-1]), DailyReport.blockers != "",
                                   DailyReport.report_date >= monday, DailyReport.report_date <= sunday)
                            .order_by(DailyReport.pilot_id, DailyReport.report_date)).all()
    stmt = (select(QaEntry, User.display_name).outerjoin(User, User.id == QaEntry.author_user_id)
            .where(col(QaEntry.source_pilot_id).in_(ids or [-1]), QaEntry.created_at >= _instant(monday),
                   QaEntry.created_at < _instant(sunday + timedelta(days=1)))
            .order_by(QaEntry.source_pilot_id, QaEntry.created_at, QaEntry.id))
    if actor.role not in qa.EDITORS:
        stmt = stmt.where(QaEntry.status == "published")
    lang = actor.language
    entries = [{"pilot_id": e.source_pilot_id, "created_on": clock.to_local(e.created_at).date(),
                "category": e.category, "question": label(lang, e.question_zh, e.question_en),
                "answer": label(lang, e.answer_zh, e.answer_en), "tags": e.tags, "status": e.status,
                "author": who or ""} for e, who in session.exec(stmt).all()]
    return {"blockers": pd.DataFrame(blockers, columns=["pilot_id", "report_date", "blockers", "next_steps",
                                                         "author"]),
            "qa": pd.DataFrame(entries, columns=["pilot_id", "created_on", "category", "question", "answer", "tags",
                                                 "status", "author"])}


# ------------------------------------------------------------------ summary

SUMMARY_COLUMNS = ["pilot_id", "pilot", "branch", "region", "phase", "stage", "stage_name", "day", "days", "key_week",
                   "key_target", "key_ratio", "kpi_week", "kpi_to_date", "weakest", "budget_used", "sop_completion",
                   "overdue", "missing_reports"]


def _worst(kpi: pd.DataFrame, scope: str) -> pd.DataFrame:
    """Per pilot, the lowest ratio among its targeted metrics (the worst light) and its metric."""
    rated = kpi[(kpi["scope"] == scope) & kpi["ratio"].notna()].sort_values(["pilot_id", "ratio"], kind="stable")
    return rated.drop_duplicates("pilot_id").set_index("pilot_id")[["ratio", "name"]]


def summary(session: Session, actor: Actor, data: dict) -> pd.DataFrame:
    """One row per pilot: phase, stage, day x of n, the key metric's week actual vs target, the
    worst KPI ratio for the week and to date, budget used, SOP completion, overdue items
    (as_of) and working days without a report during the week."""
    pilots, ids, monday, sunday = data["pilots"], data["pilot_ids"], data["monday"], data["sunday"]
    if pilots.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    kpi = data["kpis"]
    key = kpi[(kpi["scope"] == "week") & (kpi["metric"] == KEY_METRIC)].set_index("pilot_id")
    week, to_date = _worst(kpi, "week"), _worst(kpi, "to_date")
    done = sop_views.completion(session, actor=actor, pilot_ids=ids, on=as_of(sunday)).set_index("pilot_id")
    missing = metrics.missing_reports(session, actor=actor, pilot_ids=ids, on=as_of(sunday))
    missing = missing[missing["report_date"] >= monday]["pilot_id"].value_counts()
    stage = data["stages"].set_index("branch_id")
    money = data["budget"]["pilots"].set_index("pilot_id")
    out = pilots[["pilot_id", "pilot", "branch", "region", "phase", "day", "days"]].copy()
    by_pilot, by_branch = out["pilot_id"], pilots["branch_id"]
    out["stage"] = by_branch.map(stage["stage"]).to_numpy()
    out["stage_name"] = by_branch.map(stage["stage_name"]).astype(object).fillna("").to_numpy()
    out["key_week"] = by_pilot.map(key["actual"])
    out["key_target"] = by_pilot.map(key["target"])
    out["key_ratio"] = by_pilot.map(key["ratio"])
    out["kpi_week"] = by_pilot.map(week["ratio"])
    out["kpi_to_date"] = by_pilot.map(to_date["ratio"])
    out["weakest"] = by_pilot.map(to_date["name"]).astype(object).fillna("")
    out["budget_used"] = by_pilot.map(money["used_share"])
    out["sop_completion"] = by_pilot.map(done["completion_rate"])
    out["overdue"] = by_pilot.map(done["overdue"]).fillna(0).astype(int)
    out["missing_reports"] = by_pilot.map(missing).fillna(0).astype(int)
    return out[SUMMARY_COLUMNS].reset_index(drop=True)
