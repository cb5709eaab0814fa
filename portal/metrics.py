"""The metrics service every feature uses: totals per pilot / branch / staff / channel / day /
ISO week, derived rates (defined once by the `Rate` rows), trend series for charts, and the
missing-report flags.

Functions taking `actor` check role (HQ, coach, branch lead) and pilot scope. Their results
carry money in yuan and rates as fractions. The internal building blocks — for services that
have checked scope already — are re-exported here: `staff_daily_values` (per-staff daily values
in stored units, money in fen: the contest ledger derives points from it), `compute_terms`,
`compute_rates`, `rates_from_totals`, `value_of` (a metric or rate of a pilot over a window,
e.g. for stage criteria) and `values_of` (the same for many pilots, each over its own window,
in one set of queries). The aggregation rules are documented in portal.metric_engine.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, col, func, select

from models.org import Branch, Role, Staff
from models.pilot import Pilot
from models.playbook import Metric, Rate
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal import clock
from portal.access import Actor, require_role, visible_pilot_ids
from portal.errors import PermissionDenied, ValidationFailed
from portal.i18n import label
from portal.id_lists import among
from portal.metric_engine import (
    BASES,
    compute_rates,
    compute_terms,
    rates_from_totals,
    report_window,
    staff_daily_values,
    staff_sums,
    to_display,
    value_of,
    values_of,
)
from portal.metric_rates import apply_rates, rate_status
from portal.query_frame import frame

__all__ = ["compute_rates", "compute_terms", "frame", "labels", "missing_reports", "rate", "rate_status", "rates",
           "rates_from_totals", "staff_daily_values", "totals", "trend", "value_of", "values_of", "visible_pilots"]

READ_ROLES = (Role.hq, Role.coach, Role.branch_lead)
REPORTING_PHASES = ("pilot", "validating")
GROUPINGS = ("pilot", "day", "week", "pilot_week", "staff", "branch", "channel")


def visible_pilots(session: Session, *, actor: Actor, pilot_ids: list[int] | None = None,
                   action: str = "metrics.view") -> list[int]:
    """The requested pilots (all visible ones when None), refusing any outside the actor's scope."""
    require_role(actor, *READ_ROLES, action=action)
    visible = visible_pilot_ids(session, actor)
    if pilot_ids is None:
        if visible is None:
            return sorted(session.exec(select(Pilot.id)).all())
        return sorted(visible)
    outside = [p for p in pilot_ids if visible is not None and p not in visible]
    if outside:
        raise PermissionDenied("err.scope", action=action, entity="pilot", entity_id=outside[0])
    return sorted(set(pilot_ids))


def _pick(frame: pd.DataFrame, fixed: list[str], metrics: list[str] | None) -> pd.DataFrame:
    if metrics is None:
        return frame
    return frame[[c for c in frame.columns if c in fixed or c in metrics]]


def _rates(session: Session) -> list[Rate]:
    return list(session.exec(select(Rate).order_by(Rate.id)).all())


def _channel_totals(session: Session, ids: list[int], start: date, end: date) -> pd.DataFrame:
    stmt = report_window(select(DailyReport.pilot_id, BranchEntry.channel, func.sum(BranchEntry.value))
                         .join(DailyReport, DailyReport.id == BranchEntry.report_id)
                         .where(BranchEntry.channel != ""), ids, start, end)
    return frame(session, stmt.group_by(DailyReport.pilot_id, BranchEntry.channel),
                 ["pilot_id", "channel", "value"]).astype({"value": "int64"})


def _people_totals(session: Session, ids: list[int], start: date, end: date, by: str) -> pd.DataFrame:
    """Staff-level metric sums per staff member or per the staff member's own branch/outlet."""
    codes = list(session.exec(select(Metric.code).where(Metric.level == "staff").order_by(Metric.sort_order)))
    key, group = ("staff_id", DailyEntry.staff_id) if by == "staff" else ("branch_id", Staff.branch_id)
    sums = staff_sums(session, ids, start, end, group)
    wide = sums.pivot_table(index=["pilot_id", key], columns="metric", values="value", aggfunc="sum",
                            fill_value=0).reindex(columns=codes, fill_value=0)
    wide.columns.name = None
    wide = wide.reset_index()
    keys = wide[key].tolist() or [-1]
    if by == "staff":
        info = pd.DataFrame(session.exec(select(Staff.id, Staff.employee_no, Staff.name)
                                         .where(col(Staff.id).in_(keys))).all(), columns=[key, "employee_no", "name"])
    else:
        info = pd.DataFrame(session.exec(select(Branch.id, Branch.name).where(col(Branch.id).in_(keys))).all(),
                            columns=[key, "branch"])
    return wide.merge(info, on=key, how="left")[["pilot_id", *info.columns, *codes]]


def totals(session: Session, *, actor: Actor, start: date, end: date, pilot_ids: list[int] | None = None,
           by: str = "pilot", metrics: list[str] | None = None, with_rates: bool = False) -> pd.DataFrame:
    """Wide totals (a column per metric code; money in yuan) grouped `by`:
    pilot · day · week · pilot_week → [pilot_id, (period,) days, metrics…, (rates…)];
    staff → [pilot_id, staff_id, employee_no, name, metrics…, (rates from staff metrics…)];
    branch (the staff member's own branch or outlet) → [pilot_id, branch_id, branch, metrics…];
    channel → [pilot_id, channel, value] (the wecom_adds split, summed)."""
    if by not in GROUPINGS:
        raise ValidationFailed("metrics.err_period", period=by)
    ids = visible_pilots(session, actor=actor, pilot_ids=pilot_ids)
    if by == "channel":
        return _channel_totals(session, ids, start, end)
    rates = _rates(session) if with_rates else []
    if by in ("staff", "branch"):
        wide = _people_totals(session, ids, start, end, by)
        fixed = [c for c in wide.columns if c in ("pilot_id", "staff_id", "employee_no", "name", "branch_id", "branch")]
    else:
        wide = compute_terms(session, pilot_ids=ids, start=start, end=end, by="total" if by == "pilot" else by)
        wide = wide.reset_index()
        fixed = ["pilot_id", "period", "days"]
    if rates:
        values = apply_rates(wide, rates)
        wide = pd.concat([wide, values], axis=1)
        fixed += list(values.columns)
    out = to_display(session, wide.drop(columns=[c for c in BASES if c in wide]))
    if by == "pilot":
        out = out.drop(columns=["period"])
    return _pick(out, fixed, metrics)


def rates(session: Session, *, actor: Actor, start: date, end: date, pilot_ids: list[int] | None = None,
          by: str = "total", codes: list[str] | None = None) -> pd.DataFrame:
    """Every rate (or `codes`) per pilot and period, with its terms, benchmark and status."""
    ids = visible_pilots(session, actor=actor, pilot_ids=pilot_ids)
    return compute_rates(session, pilot_ids=ids, start=start, end=end, by=by, codes=codes)


def rate(session: Session, *, actor: Actor, pilot_id: int, code: str, start: date, end: date) -> dict:
    """One rate of one pilot over a window: value, numerator, denominator, benchmark and status."""
    df = rates(session, actor=actor, pilot_ids=[pilot_id], start=start, end=end, codes=[code])
    if df.empty:
        rate_row = session.exec(select(Rate).where(Rate.code == code)).first()
        if rate_row is None:
            raise ValidationFailed("metrics.err_code", code=code)
        return {"code": code, "value": None, "numerator": None, "denominator": None, "status": None,
                "benchmark_low": rate_row.benchmark_low, "benchmark_high": rate_row.benchmark_high,
                "fail_below": rate_row.fail_below, "target": rate_row.target}
    return df.drop(columns=["pilot_id", "period"]).iloc[0].to_dict()


def trend(session: Session, *, actor: Actor, pilot_id: int, codes: list[str], start: date, end: date,
          freq: str = "day") -> pd.DataFrame:
    """Long series [period, code, value] of metrics and/or rates for a chart (money in yuan)."""
    if freq not in ("day", "week", "pilot_week"):
        raise ValidationFailed("metrics.err_period", period=freq)
    wide = totals(session, actor=actor, pilot_ids=[pilot_id], start=start, end=end, by=freq, with_rates=True)
    present = [c for c in codes if c in wide.columns]
    long = wide.melt(id_vars=["period"], value_vars=present, var_name="code", value_name="value")
    return long.sort_values(["code", "period"]).reset_index(drop=True)


def labels(session: Session, *, actor: Actor) -> dict[str, str]:
    """{code: name (unit)} of every metric and rate in the actor's language, for charts."""
    require_role(actor, *READ_ROLES, action="metrics.view")
    lang = actor.language
    out = {m.code: f"{label(lang, m.name_zh, m.name_en)} ({label(lang, m.unit_zh, m.unit_en)})"
           for m in session.exec(select(Metric).order_by(Metric.sort_order)).all()}
    out.update({r.code: label(lang, r.name_zh, r.name_en) for r in _rates(session)})
    return out


def missing_reports(session: Session, *, actor: Actor, pilot_ids: list[int] | None = None,
                    on: date | None = None) -> pd.DataFrame:
    """[pilot_id, pilot, branch, report_date]: each past working day (Mon–Fri, inside the pilot
    window, before `on` = today) without a report, for pilots in phase pilot or validating.
    Public holidays are not modelled."""
    ids = visible_pilots(session, actor=actor, pilot_ids=pilot_ids, action="reports.missing")
    on = on or clock.today()
    columns = ["pilot_id", "pilot", "branch", "report_date"]
    pilots = frame(session, select(Pilot.id, Pilot.name, Branch.name, Pilot.start_date, Pilot.end_date)
                   .join(Branch, Branch.id == Pilot.branch_id)
                   .where(among(Pilot.id, ids), col(Pilot.phase).in_(REPORTING_PHASES))
                   .order_by(Pilot.start_date, Pilot.id), ["pilot_id", "pilot", "branch", "start", "end"], stream=False)
    if pilots.empty:
        return pd.DataFrame(columns=columns)
    # Every past day of every window as arrays (2,000 pilots: 30,000 days), then the working
    # days without a report: one anti-join instead of a Python loop over each day.
    first = clock.day_array(pilots["start"])
    last = np.minimum(clock.day_array(pilots["end"]), np.datetime64(on - timedelta(days=1), "D"))
    lengths = np.maximum((last - first).astype(np.int64) + 1, 0)
    row = np.repeat(np.arange(len(pilots)), lengths)
    days = first[row] + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    working = (days.astype(np.int64) + 3) % 7 < 5  # 1970-01-01 was a Thursday: Monday = 0
    row, days = row[working], days[working]
    reported = frame(session, select(DailyReport.pilot_id, DailyReport.report_date)
                     .where(among(DailyReport.pilot_id, pilots["pilot_id"]), DailyReport.report_date < on),
                     ["pilot_id", "report_date"], stream=False)
    pilot_of = pilots["pilot_id"].to_numpy()[row]

    def key(pilot_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:  # one int per (pilot, day): no MultiIndex
        return pilot_ids.astype(np.int64) * 1_000_000 + dates.astype(np.int64)

    gap = ~np.isin(key(pilot_of, days), key(reported["pilot_id"].to_numpy(dtype=np.int64),
                                             clock.day_array(reported["report_date"])))
    row, days = row[gap], days[gap]
    return pd.DataFrame({"pilot_id": pilot_of[gap], "pilot": pilots["pilot"].to_numpy()[row],
                         "branch": pilots["branch"].to_numpy()[row], "report_date": days.astype(object)},
                        columns=columns)
