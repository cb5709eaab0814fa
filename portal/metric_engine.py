"""The metrics engine behind portal.metrics: queries and the aggregation rules, in one place.

Aggregation rules:
- staff-level metrics are flows: summed over staff and days (SQL GROUP BY);
- branch-level metrics (staff_active, wecom_customers_total, nps) are point-in-time snapshots:
  the last reported value in the period;
- the wecom_adds channel split (per branch) is summed per channel;
- rates come from the `Rate` rows only: numerator / denominator, where each term is a metric
  (aggregated as above) or a base — `active_staff` (active staff of the pilot's branch subtree
  today) or `customer_base` (the pilot branch's customer base, or the sum over its subtree
  when the branch itself has none). A `per_week` rate scales its numerator to a week:
  numerator / reported days × 7 (days without a report neither add nor dilute).
- periods: "total", "day", "week" (ISO week, labelled by its Monday) and "pilot_week" (1-based
  week of the pilot).

Everything here is internal (no permission check; stored units, money in fen unless a
function says otherwise): use portal.metrics, which checks scope, from pages and services.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlmodel import Session, col, func, select

from models.org import Branch, Staff
from models.pilot import Pilot
from models.playbook import Metric, Rate
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal.access import branch_children
from portal.errors import ValidationFailed

BASES = ("active_staff", "customer_base")
PERIODS = ("total", "day", "week", "pilot_week")


# ------------------------------------------------------------------ internal queries

def report_window(stmt, pilot_ids: list[int], start: date, end: date):  # noqa: ANN001, ANN202
    return stmt.where(col(DailyReport.pilot_id).in_(pilot_ids or [-1]),
                      DailyReport.report_date >= start, DailyReport.report_date <= end)


def staff_daily_values(session: Session, *, pilot_ids: list[int], start: date, end: date,
                       metrics: list[str] | None = None) -> pd.DataFrame:
    """Per-staff daily values [pilot_id, report_date, staff_id, metric, value] in stored units
    (money in fen). Internal: no permission check — callers have checked scope."""
    stmt = report_window(select(DailyReport.pilot_id, DailyReport.report_date, DailyEntry.staff_id, DailyEntry.metric,
                          DailyEntry.value).join(DailyReport, DailyReport.id == DailyEntry.report_id),
                   pilot_ids, start, end)
    if metrics is not None:
        stmt = stmt.where(col(DailyEntry.metric).in_(metrics or ["-"]))
    cols = ["pilot_id", "report_date", "staff_id", "metric", "value"]
    return pd.DataFrame(session.exec(stmt).all(), columns=cols).astype({"value": "int64"})


def staff_sums(session: Session, pilot_ids: list[int], start: date, end: date, *group) -> pd.DataFrame:
    """SUM(value) of staff entries grouped by pilot, metric and the extra `group` columns."""
    keys = [DailyReport.pilot_id, *group, DailyEntry.metric]
    stmt = select(*keys, func.sum(DailyEntry.value)).join(DailyReport, DailyReport.id == DailyEntry.report_id)
    if any(getattr(g, "class_", None) is Staff for g in group):
        stmt = stmt.join(Staff, Staff.id == DailyEntry.staff_id)
    stmt = report_window(stmt, pilot_ids, start, end).group_by(*keys)
    names = ["pilot_id", *(g.key for g in group), "metric", "value"]
    out = pd.DataFrame(session.exec(stmt).all(), columns=names)
    out["value"] = out["value"].astype("float64")  # PostgreSQL's SUM(bigint) is numeric
    return out


def _branch_rows(session: Session, pilot_ids: list[int], start: date, end: date) -> pd.DataFrame:
    stmt = report_window(select(DailyReport.pilot_id, DailyReport.report_date, BranchEntry.metric, BranchEntry.channel,
                          BranchEntry.value).join(DailyReport, DailyReport.id == BranchEntry.report_id),
                   pilot_ids, start, end)
    out = pd.DataFrame(session.exec(stmt).all(), columns=["pilot_id", "report_date", "metric", "channel", "value"])
    out["value"] = out["value"].astype("float64")
    return out


def _report_days(session: Session, pilot_ids: list[int], start: date, end: date) -> pd.DataFrame:
    stmt = report_window(select(DailyReport.pilot_id, DailyReport.report_date), pilot_ids, start, end)
    return pd.DataFrame(session.exec(stmt).all(), columns=["pilot_id", "report_date"])


def pilot_frame(session: Session, pilot_ids: list[int]) -> pd.DataFrame:
    rows = session.exec(select(Pilot.id, Pilot.start_date, Pilot.end_date, Pilot.branch_id)
                        .where(col(Pilot.id).in_(pilot_ids or [-1]))).all()
    return pd.DataFrame(rows, columns=["pilot_id", "start_date", "end_date", "branch_id"]).set_index("pilot_id")


def pilot_bases(session: Session, pilots: pd.DataFrame) -> pd.DataFrame:
    """active_staff and customer_base per pilot (one query each, then the branch tree)."""
    children = branch_children(session)
    staff_count = dict(session.exec(select(Staff.branch_id, func.count()).where(Staff.active)
                                    .group_by(Staff.branch_id)).all())
    customers = dict(session.exec(select(Branch.id, Branch.customer_base)).all())
    out = {}
    for pid, branch_id in pilots["branch_id"].items():
        tree, stack = [], [branch_id]
        while stack:
            bid = stack.pop()
            tree.append(bid)
            stack.extend(children.get(bid, []))
        base = customers.get(branch_id) or sum(customers.get(b, 0) for b in tree)
        out[pid] = {"active_staff": sum(staff_count.get(b, 0) for b in tree), "customer_base": base}
    return pd.DataFrame.from_dict(out, orient="index", columns=list(BASES))


def _period(df: pd.DataFrame, by: str, pilots: pd.DataFrame) -> pd.Series:
    if by == "total":
        return pd.Series("total", index=df.index)
    days = pd.to_datetime(df["report_date"])
    if by == "day":
        return days.dt.date
    if by == "week":
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date
    starts = pd.to_datetime(df["pilot_id"].map(pilots["start_date"]))
    return (days - starts).dt.days // 7 + 1


# ------------------------------------------------------------------ terms and rates

def _catalogue(session: Session) -> tuple[dict[str, str], list[Rate]]:
    levels = dict(session.exec(select(Metric.code, Metric.level).order_by(Metric.sort_order, Metric.code)).all())
    return levels, list(session.exec(select(Rate).order_by(Rate.id)).all())


def compute_terms(session: Session, *, pilot_ids: list[int], start: date, end: date,
                  by: str = "total") -> pd.DataFrame:
    """Index (pilot_id, period); a column per metric code (stored units: flows summed, snapshots
    last), `days` (reported days) and the bases. Internal: no permission check."""
    if by not in PERIODS:
        raise ValidationFailed("metrics.err_period", period=by)
    levels, _ = _catalogue(session)
    pilots = pilot_frame(session, pilot_ids)
    keys = ["pilot_id", "period"]
    days = _report_days(session, pilot_ids, start, end)
    columns = ["days", *levels, *BASES]
    if days.empty:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=keys), dtype="float64")
    days["period"] = _period(days, by, pilots)
    terms = days.groupby(keys).size().rename("days").to_frame()
    staff = staff_sums(session, pilot_ids, start, end, DailyReport.report_date)
    if not staff.empty:
        staff["period"] = _period(staff, by, pilots)
        terms = terms.join(staff.groupby([*keys, "metric"])["value"].sum().unstack("metric"))
    branch = _branch_rows(session, pilot_ids, start, end)
    branch = branch[branch["channel"] == ""].sort_values("report_date")
    if not branch.empty:
        branch["period"] = _period(branch, by, pilots)
        terms = terms.join(branch.groupby([*keys, "metric"])["value"].last().unstack("metric"))
    for code, level in levels.items():
        if code not in terms:
            terms[code] = np.nan
        if level == "staff":
            terms[code] = terms[code].fillna(0)
    bases = pilot_bases(session, pilots)
    for base in BASES:
        terms[base] = terms.index.get_level_values("pilot_id").map(bases[base])
    return terms[columns].astype("float64")


def apply_rates(terms: pd.DataFrame, rates: list[Rate]) -> pd.DataFrame:
    """A column per rate code whose terms `terms` has: numerator / denominator (NaN when the
    denominator is 0 or unknown), defined by the Rate rows only."""
    out = pd.DataFrame(index=terms.index)
    for rate in rates:
        if rate.numerator not in terms or rate.denominator not in terms:
            continue  # e.g. per-staff totals have no branch snapshots: no usage rate per person
        num = terms[rate.numerator].astype("float64")
        if rate.per_week:
            num = num / terms["days"].where(terms["days"] > 0) * 7 if "days" in terms else np.nan
        den = terms[rate.denominator].astype("float64")
        out[rate.code] = num / den.where(den > 0)
    return out


def rate_status(value: float | None, rate: Rate) -> str | None:
    """fail (< fail_below) · low (< benchmark) · ok · high (> benchmark ceiling) · None."""
    if value is None or pd.isna(value):
        return None
    if rate.fail_below is not None and value < rate.fail_below:
        return "fail"
    if rate.benchmark_low is not None and value < rate.benchmark_low:
        return "low"
    if rate.benchmark_high is not None and value > rate.benchmark_high:
        return "high"
    return "ok"


def compute_rates(session: Session, *, pilot_ids: list[int], start: date, end: date, by: str = "total",
                  codes: list[str] | None = None) -> pd.DataFrame:
    """Long frame [pilot_id, period, code, value, numerator, denominator, status, benchmark_low,
    benchmark_high, fail_below, target]. Internal: no permission check."""
    _, rates = _catalogue(session)
    rates = [r for r in rates if codes is None or r.code in codes]
    terms = compute_terms(session, pilot_ids=pilot_ids, start=start, end=end, by=by)
    values = apply_rates(terms, rates)
    rows = []
    for rate in rates:
        for (pid, period), value in values.get(rate.code, pd.Series(dtype="float64")).items():
            row = terms.loc[(pid, period)]
            value = None if pd.isna(value) else float(value)
            rows.append({"pilot_id": pid, "period": period, "code": rate.code, "value": value,
                         "numerator": row.get(rate.numerator), "denominator": row.get(rate.denominator),
                         "status": rate_status(value, rate), "benchmark_low": rate.benchmark_low,
                         "benchmark_high": rate.benchmark_high, "fail_below": rate.fail_below,
                         "target": rate.target})
    return pd.DataFrame(rows, columns=["pilot_id", "period", "code", "value", "numerator", "denominator", "status",
                                       "benchmark_low", "benchmark_high", "fail_below", "target"])


def rates_from_totals(session: Session, totals: dict[str, float], *, days: int = 1) -> dict[str, float | None]:
    """Rates of one set of stored-unit totals (e.g. a report being typed). Internal."""
    _, rates = _catalogue(session)
    frame = pd.DataFrame([{**totals, "days": days}], dtype="float64")
    values = apply_rates(frame, rates).iloc[0]
    return {code: (None if pd.isna(v) else float(v)) for code, v in values.items()}


def value_of(session: Session, *, pilot_id: int, code: str, start: date, end: date) -> float | None:
    """A metric (flow summed, snapshot last; money in yuan) or a rate of one pilot over a window.
    Internal (e.g. stage criteria): no permission check."""
    levels, rates = _catalogue(session)
    rate = next((r for r in rates if r.code == code), None)
    if rate is None and code not in levels:
        raise ValidationFailed("metrics.err_code", code=code)
    terms = compute_terms(session, pilot_ids=[pilot_id], start=start, end=end)
    if terms.empty:
        return None
    if rate is not None:
        value = apply_rates(terms, [rate])[code].iloc[0]
    else:
        value = to_display(session, terms)[code].iloc[0]
    return None if pd.isna(value) else float(value)


def to_display(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """Money columns from fen to yuan (a copy); other columns unchanged."""
    money = set(session.exec(select(Metric.code).where(Metric.kind == "money")).all())
    out = frame.copy()
    for code in money & set(out.columns):
        out[code] = out[code] / 100
    return out
