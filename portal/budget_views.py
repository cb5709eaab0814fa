"""What the budget page shows for one pilot: the headline numbers, totals by category and
status, the burn curve with its projection, the line list, overrides and package choices.
Reads only; money is turned into yuan here so pages do no arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlmodel import Session, col, select

from models.budget import SPENT_STATUSES, BudgetCategory, BudgetLine, BudgetOverride, BudgetStatus
from models.org import User
from models.playbook import ContentItem
from portal import budget, budget_lines, clock
from portal.access import Actor, require_pilot
from portal.i18n import label


def _pilot(session: Session, actor: Actor, pilot_id: int):
    return require_pilot(session, actor, pilot_id, roles=budget.VIEW_ROLES, action="budget.view")


def overview(session: Session, *, actor: Actor, pilot_id: int) -> dict:
    """The pilot's summary row (see budget.summary) plus the same money as yuan text."""
    _pilot(session, actor, pilot_id)
    row = budget.summary(session, actor=actor, pilot_ids=[pilot_id]).iloc[0].to_dict()
    for key in [k for k in row if k.endswith("_fen")]:
        row[key.removesuffix("_fen") + "_text"] = budget.yuan(int(row[key]))
    row["remaining_fen"] = max(0, int(row["headroom_fen"]))
    row["remaining_text"] = budget.yuan(row["remaining_fen"])
    row["outlook_text"] = budget.yuan(int(row["used_fen"]) + int(row["planned_fen"]))
    row["unplanned_fen"] = max(0, int(row["headroom_fen"]) - int(row["planned_fen"]))
    row["plan_over_limit"] = int(row["planned_fen"]) > int(row["headroom_fen"])
    return row


LINE_COLUMNS = ["id", "category", "description", "vendor", "status", "planned_yuan", "actual_yuan", "spend_date",
                "recorded_by", "attachment_ref", "updated_at", "version"]


def lines(session: Session, *, actor: Actor, pilot_id: int, categories: list[str] | None = None,
          statuses: list[str] | None = None) -> pd.DataFrame:
    """The pilot's lines, newest first, optionally filtered by category and status codes."""
    _pilot(session, actor, pilot_id)
    stmt = (select(BudgetLine, User.display_name).join(User, User.id == BudgetLine.recorded_by, isouter=True)
            .where(BudgetLine.pilot_id == pilot_id).order_by(col(BudgetLine.id).desc()))
    if categories:
        stmt = stmt.where(col(BudgetLine.category).in_(categories))
    if statuses:
        stmt = stmt.where(col(BudgetLine.status).in_(statuses))
    return pd.DataFrame([{
        "id": ln.id, "category": ln.category, "description": ln.description, "vendor": ln.vendor,
        "status": ln.status, "planned_yuan": ln.planned_fen / 100, "actual_yuan": ln.actual_fen / 100,
        "spend_date": ln.spend_date, "recorded_by": who or "", "attachment_ref": ln.attachment_ref,
        "updated_at": clock.to_local(ln.updated_at).replace(tzinfo=None), "version": ln.version,
    } for ln, who in session.exec(stmt).all()], columns=LINE_COLUMNS)


def open_lines(session: Session, *, actor: Actor, pilot_id: int) -> list[dict]:
    """Lines that can still move, with where each may go and the amount to suggest."""
    _pilot(session, actor, pilot_id)
    rows = session.exec(select(BudgetLine).where(BudgetLine.pilot_id == pilot_id, col(BudgetLine.status).in_(
        [s for s, nxt in budget_lines.TRANSITIONS.items() if nxt])).order_by(BudgetLine.id)).all()
    return [{"id": ln.id, "version": ln.version, "status": ln.status, "description": ln.description,
             "next": list(budget_lines.TRANSITIONS[ln.status]),
             "amount_text": budget.yuan(ln.actual_fen if ln.status in SPENT_STATUSES else ln.planned_fen)}
            for ln in rows]


def by_category(session: Session, *, actor: Actor, pilot_id: int) -> pd.DataFrame:
    """Per category (all six, in order): plan, still planned (pending), committed, paid,
    actual (committed + paid) and plan left (plan − actual, ≥ 0), in yuan."""
    _pilot(session, actor, pilot_id)
    rows = session.exec(select(BudgetLine).where(BudgetLine.pilot_id == pilot_id,
                                                 BudgetLine.status != BudgetStatus.cancelled)).all()
    out = []
    for cat in BudgetCategory:
        mine = [ln for ln in rows if ln.category == cat]
        plan = sum(ln.planned_fen for ln in mine)
        part = {s: sum(ln.actual_fen if s in SPENT_STATUSES else ln.planned_fen for ln in mine if ln.status == s)
                for s in (BudgetStatus.planned, *SPENT_STATUSES)}
        actual = part[BudgetStatus.committed] + part[BudgetStatus.paid]
        out.append({"category": cat.value, "plan_yuan": plan / 100, "pending_yuan": part[BudgetStatus.planned] / 100,
                    "committed_yuan": part[BudgetStatus.committed] / 100, "paid_yuan": part[BudgetStatus.paid] / 100,
                    "actual_yuan": actual / 100, "plan_left_yuan": max(0, plan - actual) / 100})
    return pd.DataFrame(out)


def by_status(session: Session, *, actor: Actor, pilot_id: int) -> pd.DataFrame:
    """Per status: number of lines, planned amount and actual amount, in yuan."""
    _pilot(session, actor, pilot_id)
    rows = session.exec(select(BudgetLine).where(BudgetLine.pilot_id == pilot_id)).all()
    return pd.DataFrame([{
        "status": s.value, "lines": sum(1 for ln in rows if ln.status == s),
        "planned_yuan": sum(ln.planned_fen for ln in rows if ln.status == s) / 100,
        "actual_yuan": sum(ln.actual_fen for ln in rows if ln.status == s) / 100,
    } for s in BudgetStatus])


BURN_COLUMNS = ["date", "day", "actual_yuan", "projected_yuan", "cap_yuan", "limit_yuan"]


def burn(session: Session, *, actor: Actor, pilot_id: int, on: date | None = None) -> pd.DataFrame:
    """One row per pilot day: committed + paid so far by spend date (up to today), the
    projection from today to the end date at the current daily rate, the cap and the limit
    (cap + overrides). Spends dated before the start count on day 1, after the end on the last day."""
    pilot = _pilot(session, actor, pilot_id)
    on = on or clock.today()
    t = budget.totals(session, [pilot])[pilot.id]
    elapsed, total = budget.days(pilot, on)
    projected = budget.projection(t.used_fen, elapsed, total)
    spent = session.exec(select(BudgetLine.spend_date, BudgetLine.actual_fen).where(
        BudgetLine.pilot_id == pilot_id, col(BudgetLine.status).in_(list(SPENT_STATUSES)))).all()
    per_day = [0] * total
    for day, fen in spent:
        idx = 0 if day is None else min(max((day - pilot.start_date).days, 0), total - 1)
        per_day[idx] += fen
    out, running = [], 0
    for i in range(total):
        running += per_day[i]
        row = {"date": pilot.start_date + timedelta(days=i), "day": i + 1, "actual_yuan": None,
               "projected_yuan": None, "cap_yuan": t.cap_fen / 100, "limit_yuan": t.limit_fen / 100}
        if i < elapsed:
            row["actual_yuan"] = running / 100
        if 0 < elapsed < total and i >= elapsed - 1:
            # Straight line from today's total to the projected end, integer fen per day.
            step = (projected - t.used_fen) * (i - elapsed + 1) // (total - elapsed)
            row["projected_yuan"] = (t.used_fen + step) / 100
        out.append(row)
    return pd.DataFrame(out, columns=BURN_COLUMNS)


def package_options(session: Session, *, actor: Actor, pilot_id: int) -> tuple[dict[str, str], str | None]:
    """({package code: name}, the code to preselect): the pilot's adopted package, else the
    package made for its segment × goal."""
    pilot = _pilot(session, actor, pilot_id)
    items = session.exec(select(ContentItem).where(ContentItem.kind == "package")
                         .order_by(ContentItem.sort_order)).all()
    options = {i.code: label(actor.language, i.data.get("name_zh", i.code), i.data.get("name_en", ""))
               for i in items if i.data.get("budget")}
    default = pilot.package_code if pilot.package_code in options else next(
        (i.code for i in items if i.code in options and i.data.get("segment") == pilot.segment
         and i.data.get("goal") == pilot.goal), None)
    return options, default


def template_preview(session: Session, *, actor: Actor, pilot_id: int, package_code: str) -> pd.DataFrame:
    """The package's suggested lines, and whether each is already on the pilot."""
    _pilot(session, actor, pilot_id)
    items = budget_lines.package_lines(session, package_code)
    taken = set(session.exec(select(BudgetLine.template_key).where(BudgetLine.pilot_id == pilot_id,
                                                                   col(BudgetLine.template_key).is_not(None))).all())
    return pd.DataFrame([{
        "category": item["category"],
        "description": label(actor.language, item["description_zh"], item.get("description_en", "")),
        "planned_yuan": budget.parse_amount(actor, item["amount_yuan"], field="planned") / 100,
        "applied": f"{package_code}#{i}" in taken,
    } for i, item in enumerate(items)], columns=["category", "description", "planned_yuan", "applied"])


OVERRIDE_COLUMNS = ["id", "created_at", "amount_fen", "amount_yuan", "approved_by", "reason"]


def overrides(session: Session, *, actor: Actor, pilot_id: int) -> pd.DataFrame:
    """HQ's approvals above the pilot's cap, oldest first (reasons are stored text)."""
    _pilot(session, actor, pilot_id)
    rows = session.exec(select(BudgetOverride).where(BudgetOverride.pilot_id == pilot_id)
                        .order_by(BudgetOverride.id)).all()
    return pd.DataFrame([{
        "id": o.id, "created_at": clock.to_local(o.created_at).replace(tzinfo=None), "amount_fen": o.amount_fen,
        "amount_yuan": o.amount_fen / 100, "approved_by": o.approved_by_name, "reason": o.reason,
    } for o in rows], columns=OVERRIDE_COLUMNS)
