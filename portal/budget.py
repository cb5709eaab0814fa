"""Budget under the MVP cap: the cap rule (one function), HQ overrides, and the per-pilot
summary that the budget page, the HQ portfolio and the weekly review read.

The rule: the actual amounts of committed and paid lines must stay within the pilot's cap
plus every override HQ approved. Writers lock the pilot row first (`lock_pilot`), so two
people recording spends at the same moment are checked one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlmodel import Session, col, func, select

from models.budget import SPENT_STATUSES, BudgetLine, BudgetOverride, BudgetStatus
from models.org import Branch, Role, User
from models.pilot import Phase, Pilot
from portal import audit, clock, numbers, pilots
from portal import text as text_rule
from portal.access import Actor, lock_pilot, require_pilot, require_role, visible_pilot_ids
from portal.errors import ValidationFailed
from portal.i18n import translate
from portal.id_lists import among

VIEW_ROLES = (Role.hq, Role.coach, Role.branch_lead)
EDIT_ROLES = VIEW_ROLES  # coaches of the pilot, leads of its branch, HQ everywhere
WARN_PCT = 80  # % of the limit used: warn
ALERT_PCT = 95  # % of the limit used: alert
MAX_AMOUNT_YUAN = 10_000_000
MIN_REASON_CHARS = 5
MAX_REASON_CHARS = 500
FROZEN_PHASES = frozenset({Phase.closed, Phase.stopped})


@dataclass(frozen=True)
class Totals:
    """Money of one pilot, in fen."""

    cap_fen: int
    overrides_fen: int = 0
    planned_fen: int = 0  # lines still planned (their planned amount)
    plan_fen: int = 0  # the whole plan: planned amount of every line not cancelled
    committed_fen: int = 0
    paid_fen: int = 0

    @property
    def used_fen(self) -> int:
        return self.committed_fen + self.paid_fen

    @property
    def limit_fen(self) -> int:
        return self.cap_fen + self.overrides_fen

    @property
    def headroom_fen(self) -> int:
        return self.limit_fen - self.used_fen

    @property
    def used_pct(self) -> float:
        return round(self.used_fen * 100 / self.limit_fen, 1) if self.limit_fen > 0 else 0.0


def totals(session: Session, pilot_list: list[Pilot], *, exclude_line_id: int | None = None) -> dict[int, Totals]:
    """{pilot id: Totals}, summed in the database (exact integers)."""
    ids = [p.id for p in pilot_list]
    sums: dict[int, dict[str, int]] = {pid: {} for pid in ids}
    stmt = (select(BudgetLine.pilot_id, BudgetLine.status, func.sum(BudgetLine.planned_fen),
                   func.sum(BudgetLine.actual_fen))
            .where(among(BudgetLine.pilot_id, ids)).group_by(BudgetLine.pilot_id, BudgetLine.status))
    if exclude_line_id is not None:
        stmt = stmt.where(BudgetLine.id != exclude_line_id)
    for pid, status, planned, actual in session.exec(stmt).all():
        row = sums[pid]
        if status != BudgetStatus.cancelled:
            row["plan_fen"] = row.get("plan_fen", 0) + int(planned or 0)
        if status == BudgetStatus.planned:
            row["planned_fen"] = int(planned or 0)
        elif status in SPENT_STATUSES:
            row[f"{status}_fen"] = int(actual or 0)
    overrides = dict(session.exec(select(BudgetOverride.pilot_id, func.sum(BudgetOverride.amount_fen))
                                  .where(among(BudgetOverride.pilot_id, ids))
                                  .group_by(BudgetOverride.pilot_id)).all())
    return {p.id: Totals(cap_fen=p.budget_cap_fen, overrides_fen=int(overrides.get(p.id) or 0), **sums[p.id])
            for p in pilot_list}


def yuan(fen: int) -> str:
    return numbers.fen_to_yuan_text(fen)


def check_cap(session: Session, pilot: Pilot, *, new_fen: int, old_fen: int = 0,
              line_id: int | None = None) -> None:
    """THE cap rule. A line's counted amount goes from `old_fen` to `new_fen` (0 when it does
    not count: planned or cancelled). Refused when committed + paid would end above cap +
    overrides; a write that lowers the total is always allowed. Call after `lock_pilot`."""
    if new_fen <= old_fen:
        return
    t = totals(session, [pilot], exclude_line_id=line_id)[pilot.id]
    if t.used_fen + new_fen > t.limit_fen:
        raise ValidationFailed("budget.err_cap", amount=yuan(new_fen), used=yuan(t.used_fen),
                               limit=yuan(t.limit_fen), headroom=yuan(max(0, t.headroom_fen)))


def check_new_cap(session: Session, pilot: Pilot, *, cap_fen: int) -> None:
    """The same rule seen from the cap: HQ may not lower a cap below what is already committed
    and paid (overrides included). For pilots.update_pilot, after locking the pilot."""
    if cap_fen >= pilot.budget_cap_fen:
        return
    t = totals(session, [pilot])[pilot.id]
    if cap_fen + t.overrides_fen < t.used_fen:
        raise ValidationFailed("budget.err_cap_below_used", used=yuan(t.used_fen),
                               minimum=yuan(t.used_fen - t.overrides_fen))


def editable_pilot(session: Session, actor: Actor, pilot_id: int, *, action: str,
                   roles: tuple[str, ...] = EDIT_ROLES) -> Pilot:
    """Scope check for a budget write, then the locked pilot. Closed or stopped pilots are
    frozen for everyone but HQ."""
    require_pilot(session, actor, pilot_id, roles=roles, action=action)
    pilot = lock_pilot(session, pilot_id)
    if pilot.phase in FROZEN_PHASES and not actor.is_hq:
        raise ValidationFailed("budget.err_frozen")
    return pilot


def field_name(actor: Actor, field: str) -> str:
    return translate(actor.language, f"budget.field.{field}")


def parse_amount(actor: Actor, value: object, *, field: str = "amount") -> int:
    """Money typed by a person → fen (> 0)."""
    fen = numbers.parse_money_fen(value, field=field_name(actor, field), maximum_yuan=MAX_AMOUNT_YUAN)
    if fen <= 0:
        raise ValidationFailed("budget.err_zero", field=field_name(actor, field))
    return fen


def alert_level(used_pct: float) -> str:
    if used_pct >= ALERT_PCT:
        return "alert"
    if used_pct >= WARN_PCT:
        return "warn"
    return "ok"


def days(pilot: Pilot, on: date | None = None) -> tuple[int, int]:
    """(days elapsed, days in total) of the pilot on `on` (default today)."""
    return pilots.pilot_day(pilot.start_date, pilot.end_date, on), (pilot.end_date - pilot.start_date).days + 1


def projection(used_fen: int, elapsed: int, total: int) -> int:
    """Spend at the end if the rate so far (used / days elapsed) continues, rounded to the fen."""
    if elapsed <= 0:
        return used_fen
    return (used_fen * total + elapsed // 2) // elapsed


SUMMARY_COLUMNS = ["pilot_id", "pilot", "branch", "phase", "start_date", "end_date", "cap_fen", "overrides_fen",
                   "limit_fen", "plan_fen", "planned_fen", "committed_fen", "paid_fen", "used_fen", "used_pct",
                   "headroom_fen", "days_elapsed", "days_total", "projected_fen", "projected_overrun_fen",
                   "level"]


def _visible_pilots(session: Session, actor: Actor, pilot_ids, *, action: str) -> list[tuple[Pilot, str]]:
    require_role(actor, *VIEW_ROLES, action=action)
    visible = visible_pilot_ids(session, actor)
    stmt = select(Pilot, Branch.name).join(Branch, Branch.id == Pilot.branch_id).order_by(Pilot.start_date,
                                                                                          Pilot.id)
    if visible is not None:
        stmt = stmt.where(among(Pilot.id, visible))
    if pilot_ids is not None:
        stmt = stmt.where(col(Pilot.id).in_(set(pilot_ids) or {-1}))
    return list(session.exec(stmt).all())


def summary(session: Session, *, actor: Actor, pilot_ids=None, on: date | None = None) -> pd.DataFrame:
    """One row per pilot the actor may see (optionally only `pilot_ids`): cap, overrides,
    plan, committed, paid, used and headroom in fen; used % of the limit; days; projected
    spend at the end at the current daily rate and the projected overrun (≥ 0)."""
    rows = _visible_pilots(session, actor, pilot_ids, action="budget.summary")
    sums = totals(session, [p for p, _ in rows])
    out = []
    for p, branch in rows:
        t = sums[p.id]
        elapsed, total = days(p, on)
        projected = projection(t.used_fen, elapsed, total)
        out.append({
            "pilot_id": p.id, "pilot": p.name, "branch": branch, "phase": p.phase, "start_date": p.start_date,
            "end_date": p.end_date, "cap_fen": t.cap_fen, "overrides_fen": t.overrides_fen,
            "limit_fen": t.limit_fen, "plan_fen": t.plan_fen, "planned_fen": t.planned_fen,
            "committed_fen": t.committed_fen, "paid_fen": t.paid_fen, "used_fen": t.used_fen,
            "used_pct": t.used_pct, "headroom_fen": t.headroom_fen, "days_elapsed": elapsed, "days_total": total,
            "projected_fen": projected, "projected_overrun_fen": max(0, projected - t.limit_fen),
            "level": alert_level(t.used_pct),
        })
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.SHANGHAI)


CHANGED_COLUMNS = ["pilot_id", "pilot", "line_id", "category", "description", "vendor", "status", "planned_fen",
                   "actual_fen", "spend_date", "recorded_by", "attachment_ref", "change", "updated_at"]


def lines_changed(session: Session, *, actor: Actor, pilot_ids, start: date, end: date) -> pd.DataFrame:
    """Lines created or changed between `start` and `end` (Asia/Shanghai dates, inclusive),
    for the weekly review's budget sheet. `change` is "new" or "updated"."""
    if end < start:
        raise ValidationFailed("budget.err_period")
    rows = _visible_pilots(session, actor, pilot_ids, action="budget.changes")
    names = {p.id: p.name for p, _ in rows}
    lo, hi = _instant(start), _instant(end + timedelta(days=1))
    stmt = (select(BudgetLine, User.display_name).join(User, User.id == BudgetLine.recorded_by, isouter=True)
            .where(col(BudgetLine.pilot_id).in_(names or [-1]), BudgetLine.updated_at >= lo,
                   BudgetLine.updated_at < hi).order_by(BudgetLine.pilot_id, BudgetLine.id))
    out = [{
        "pilot_id": line.pilot_id, "pilot": names[line.pilot_id], "line_id": line.id, "category": line.category,
        "description": line.description, "vendor": line.vendor, "status": line.status,
        "planned_fen": line.planned_fen, "actual_fen": line.actual_fen, "spend_date": line.spend_date,
        "recorded_by": who or "", "attachment_ref": line.attachment_ref,
        "change": "new" if clock.to_local(line.created_at) >= lo else "updated",
        "updated_at": clock.to_local(line.updated_at).replace(tzinfo=None),
    } for line, who in session.exec(stmt).all()]
    return pd.DataFrame(out, columns=CHANGED_COLUMNS)


def approve_override(session: Session, *, actor: Actor, pilot_id: int, amount: object, reason: str) -> int:
    """HQ allows `amount` (yuan as typed) above the pilot's cap, with a written reason."""
    require_pilot(session, actor, pilot_id, roles=(Role.hq,), action="budget.override")
    text = text_rule.clean(reason, min_len=MIN_REASON_CHARS, max_len=MAX_REASON_CHARS, multiline=True,
                           key="budget.err_reason")
    fen = parse_amount(actor, amount)
    pilot = lock_pilot(session, pilot_id)
    before = totals(session, [pilot])[pilot.id]
    row = BudgetOverride(pilot_id=pilot.id, amount_fen=fen, reason=text, approved_by=actor.user_id,
                         approved_by_name=actor.display_name or actor.username, created_at=clock.now_utc())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="budget.override", entity="budget_override", entity_id=row.id,
                 before={"pilot_id": pilot.id, "limit_fen": before.limit_fen},
                 after={**audit.snapshot(row), "limit_fen": before.limit_fen + fen})
    return row.id
