"""Head office's portfolio: every pilot on one row (phase, stage, day x of 28, KPI light,
budget use, SOP completion and overdue items, missing reports, latest blockers), the stage ×
branch heat map and the phase funnel."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from models.org import Branch, Role
from models.pilot import Phase, Pilot
from models.reports import DailyReport
from portal import budget, clock, kpis, maturity, metrics
from portal.access import Actor, require_role, visible_pilot_ids
from portal.id_lists import among
from portal.pilots import pilot_day
from portal.sop_views import completion_of

COLUMNS = ["pilot_id", "pilot", "branch", "branch_id", "region", "is_county", "phase", "stage", "day", "days",
           "kpi", "budget_used_pct", "sop_completion", "overdue", "missing_reports", "latest_blocker"]
HEATMAP_BRANCHES = 30  # more branches than this are shown per region
PHASE_ORDER = [Phase.planning, Phase.pilot, Phase.validating, Phase.scaling, Phase.closed, Phase.stopped]


def _latest_blockers(session: Session, ids: list[int]) -> dict[int, str]:
    rows = session.exec(select(DailyReport.pilot_id, DailyReport.blockers)
                        .where(among(DailyReport.pilot_id, ids), DailyReport.blockers != "")
                        .order_by(DailyReport.report_date)).all()
    return dict(rows)  # the last (latest) one per pilot wins


def portfolio(session: Session, *, actor: Actor, on: date | None = None) -> pd.DataFrame:
    require_role(actor, Role.hq, Role.coach, Role.branch_lead, action="portfolio.view")
    on = on or clock.today()
    visible = visible_pilot_ids(session, actor)
    # The columns used, not ORM objects: loading 2,000 pilots and branches into the session
    # cost 0.2 s; the rows carry the attributes budget.totals and kpis read.
    stmt = (select(Pilot.id, Pilot.name, Pilot.phase, Pilot.start_date, Pilot.end_date, Pilot.budget_cap_fen,
                   Pilot.branch_id, Branch.name.label("branch"), Branch.region, Branch.is_county)
            .join(Branch, Branch.id == Pilot.branch_id).order_by(Pilot.start_date, Pilot.id))
    if visible is not None:
        stmt = stmt.where(among(Pilot.id, visible))
    pilots = session.exec(stmt).all()
    if not pilots:
        return pd.DataFrame(columns=COLUMNS)
    ids = [p.id for p in pilots]
    money = budget.totals(session, pilots)
    sop = completion_of(session, ids, on).set_index("pilot_id")  # ids: the visible pilots, already scoped
    sop_rate, sop_overdue = sop["completion_rate"].to_dict(), sop["overdue"].to_dict()  # .loc per pilot: 0.3 s
    missing = metrics.missing_reports(session, actor=actor, pilot_ids=ids, on=on)["pilot_id"].value_counts()
    stages = maturity.current_stages(session, list({p.branch_id for p in pilots}))
    blockers = _latest_blockers(session, ids)
    lights = kpis.summary_lights(session, [p for p in pilots if p.phase != Phase.planning], on)
    out = []
    for pilot in pilots:
        out.append({
            "pilot_id": pilot.id, "pilot": pilot.name, "branch": pilot.branch, "branch_id": pilot.branch_id,
            "region": pilot.region, "is_county": pilot.is_county, "phase": pilot.phase,
            "stage": stages.get(pilot.branch_id), "day": pilot_day(pilot.start_date, pilot.end_date, on),
            "days": (pilot.end_date - pilot.start_date).days + 1,
            "kpi": lights.get(pilot.id, "grey"),
            "budget_used_pct": money[pilot.id].used_pct,
            "sop_completion": float(sop_rate.get(pilot.id, 0.0)), "overdue": int(sop_overdue.get(pilot.id, 0)),
            "missing_reports": int(missing.get(pilot.id, 0)), "latest_blocker": blockers.get(pilot.id, ""),
        })
    return pd.DataFrame(out, columns=COLUMNS)


def view(df: pd.DataFrame, phases: tuple[str, ...], regions: tuple[str, ...], county_only: bool) -> dict:
    """The portfolio narrowed by the page's filters (none = all), with its headline counts,
    stage heat map and phase funnel."""
    shown = df
    if phases:
        shown = shown[shown["phase"].isin(phases)]
    if regions:
        shown = shown[shown["region"].isin(regions)]
    if county_only:
        shown = shown[shown["is_county"].astype(bool)]
    shown = shown.reset_index(drop=True)
    return {"shown": shown,
            "counts": {"pilots": len(shown), "red": int((shown["kpi"] == "red").sum()),
                       "overdue": int(shown["overdue"].sum()), "missing": int(shown["missing_reports"].sum())},
            "heatmap": heatmap(shown), "funnel": funnel(shown)}


def funnel(df: pd.DataFrame) -> pd.DataFrame:
    counts = df["phase"].value_counts()
    return pd.DataFrame({"phase": [str(p) for p in PHASE_ORDER],
                         "pilots": [int(counts.get(str(p), 0)) for p in PHASE_ORDER]})


def heatmap(df: pd.DataFrame, max_branches: int | None = None) -> pd.DataFrame:
    """Stages 1–4 as columns. Up to `max_branches` branches: a row per branch, 1 marking its
    confirmed stage. More (a province, the whole bank): a row per region counting its branches
    at each stage — 2,000 branch rows would be a chart 56,000 px tall; filtering a region
    brings the branch rows back. The index name says which: "branch" or "region"."""
    branches = df.drop_duplicates("branch_id")
    by = "branch" if len(branches) <= (max_branches or HEATMAP_BRANCHES) else "region"
    stage = pd.to_numeric(branches["stage"], errors="coerce").to_numpy(dtype="float64")
    known = ~np.isnan(stage)
    if by == "region":
        labels, row = np.unique(branches["region"].astype(str).to_numpy(), return_inverse=True)
    else:
        labels, row = branches["branch"].to_numpy(), np.arange(len(branches))
    grid = np.zeros((len(labels), 4), dtype=np.int64)
    np.add.at(grid, (row[known], stage[known].astype(np.int64) - 1), 1)  # by position, not a .loc per branch
    return pd.DataFrame(grid, index=pd.Index(labels, name=by), columns=[1, 2, 3, 4])


def pilot_notes(session: Session, *, actor: Actor, pilot_id: int, limit: int = 10) -> dict:
    """The pilot's latest blockers (from daily reports) and the Q&A entries it produced."""
    from models.playbook import QaEntry
    from portal.access import require_pilot

    require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach, Role.branch_lead), action="portfolio.notes")
    blockers = session.exec(select(DailyReport.report_date, DailyReport.blockers)
                            .where(DailyReport.pilot_id == pilot_id, DailyReport.blockers != "")
                            .order_by(col(DailyReport.report_date).desc()).limit(limit)).all()
    stmt = select(QaEntry.question_zh, QaEntry.question_en, QaEntry.status).where(QaEntry.source_pilot_id == pilot_id)
    if actor.role not in (Role.hq, Role.coach):  # drafts are for the Q&A editors only
        stmt = stmt.where(QaEntry.status == "published")
    qa = session.exec(stmt.order_by(col(QaEntry.id).desc()).limit(limit)).all()
    return {"blockers": [{"date": d, "text": t} for d, t in blockers],
            "qa": [{"question_zh": zh, "question_en": en, "status": s} for zh, en, s in qa]}
