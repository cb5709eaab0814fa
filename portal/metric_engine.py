"""The metrics engine behind portal.metrics: queries and the aggregation rules, in one place.

Aggregation rules:
- staff-level metrics are flows: summed over staff and days (SQL GROUP BY);
- branch-level metrics (staff_active, wecom_customers_total, nps) are point-in-time snapshots:
  the last reported value in the period;
- the wecom_adds channel split (per branch) is summed per channel;
- rates come from the `Rate` rows only (applied by portal.metric_rates): numerator /
  denominator, where each term is a metric (aggregated as above) or a base — `active_staff` (active staff of the pilot's branch subtree
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
from sqlalchemy import Date, Integer, and_, case, column, text, true
from sqlmodel import Session, col, func, select

from models.org import Branch, Staff
from models.pilot import Pilot
from models.playbook import Metric, Rate
from models.reports import BranchEntry, DailyEntry, DailyReport, PilotTotal, ReportTotal
from portal.access import branch_children
from portal.errors import ValidationFailed
from portal.id_lists import among
from portal.metric_rates import apply_rates, rate_status
from portal.query_frame import frame

BASES = ("active_staff", "customer_base")
PERIODS = ("total", "day", "week", "pilot_week")


# ------------------------------------------------------------------ internal queries

def report_window(stmt, pilot_ids: list[int], start: date, end: date):  # noqa: ANN001, ANN202
    return stmt.where(among(DailyReport.pilot_id, pilot_ids),
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
    return frame(session, stmt, cols).astype({"value": "int64"})


def staff_sums(session: Session, pilot_ids: list[int], start: date, end: date, *group) -> pd.DataFrame:
    """SUM(value) of staff entries grouped by pilot, metric and the extra `group` columns."""
    keys = [DailyReport.pilot_id, *group, DailyEntry.metric]
    stmt = select(*keys, func.sum(DailyEntry.value)).join(DailyReport, DailyReport.id == DailyEntry.report_id)
    if any(getattr(g, "class_", None) is Staff for g in group):
        stmt = stmt.join(Staff, Staff.id == DailyEntry.staff_id)
    stmt = report_window(stmt, pilot_ids, start, end).group_by(*keys)
    names = ["pilot_id", *(g.key for g in group), "metric", "value"]
    out = frame(session, stmt, names)
    out["value"] = out["value"].astype("float64")  # PostgreSQL's SUM(bigint) is numeric
    return out


def _report_totals(session: Session, pilot_ids: list[int], start: date, end: date) -> pd.DataFrame:
    """Staff-level metric sums per pilot and day [pilot_id, report_date, metric, value], from
    the per-report totals the database keeps (models.reports.ReportTotal)."""
    stmt = report_window(select(DailyReport.pilot_id, DailyReport.report_date, ReportTotal.metric, ReportTotal.value)
                         .join(DailyReport, DailyReport.id == ReportTotal.report_id), pilot_ids, start, end)
    out = frame(session, stmt, ["pilot_id", "report_date", "metric", "value"])
    out["value"] = out["value"].astype("float64")
    return out


def _branch_rows(session: Session, pilot_ids: list[int], start: date, end: date) -> pd.DataFrame:
    stmt = report_window(select(DailyReport.pilot_id, DailyReport.report_date, BranchEntry.metric, BranchEntry.channel,
                          BranchEntry.value).join(DailyReport, DailyReport.id == BranchEntry.report_id),
                   pilot_ids, start, end)
    out = frame(session, stmt, ["pilot_id", "report_date", "metric", "channel", "value"])
    out["value"] = out["value"].astype("float64")
    return out


def _report_days(session: Session, pilot_ids: list[int], start: date, end: date) -> pd.DataFrame:
    stmt = report_window(select(DailyReport.pilot_id, DailyReport.report_date), pilot_ids, start, end)
    return frame(session, stmt, ["pilot_id", "report_date"])


def pilot_frame(session: Session, pilot_ids: list[int]) -> pd.DataFrame:
    stmt = select(Pilot.id, Pilot.start_date, Pilot.end_date, Pilot.branch_id).where(among(Pilot.id, pilot_ids))
    return frame(session, stmt, ["pilot_id", "start_date", "end_date", "branch_id"]).set_index("pilot_id")


def _per_session(session: Session, key: str, load):  # noqa: ANN001, ANN202
    """Reference data read once per transaction (a db.run session), e.g. for many value_of
    calls from the stage criteria: never shared between sessions or users."""
    if key not in session.info:
        session.info[key] = load()
    return session.info[key]


def _bases(session: Session, branch_of: dict[int, int]) -> dict[int, dict[str, int]]:
    """{pilot_id: {active_staff, customer_base}} from {pilot_id: branch_id}: the branch tree
    once per session, then one query each for the staff counts and customer bases of the
    pilots' subtrees."""
    children = _per_session(session, "branch_children", lambda: branch_children(session))
    trees = {}
    for pid, branch_id in branch_of.items():
        tree, stack = [], [branch_id]
        while stack:
            bid = stack.pop()
            tree.append(bid)
            stack.extend(children.get(bid, []))
        trees[pid] = tree
    ids = sorted({b for tree in trees.values() for b in tree}) or [-1]
    staff_count = dict(session.exec(select(Staff.branch_id, func.count())
                                    .where(Staff.active, among(Staff.branch_id, ids)).group_by(Staff.branch_id)).all())
    customers = dict(session.exec(select(Branch.id, Branch.customer_base).where(among(Branch.id, ids))).all())
    return {pid: {"active_staff": sum(staff_count.get(b, 0) for b in tree),
                  "customer_base": customers.get(tree[0]) or sum(customers.get(b, 0) for b in tree)}
            for pid, tree in trees.items()}


def pilot_bases(session: Session, pilots: pd.DataFrame) -> pd.DataFrame:
    """active_staff and customer_base per pilot (index pilot_id; `pilots` has branch_id)."""
    bases = _bases(session, pilots["branch_id"].to_dict())
    return pd.DataFrame.from_dict(bases, orient="index", columns=list(BASES))


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
    def load() -> tuple[dict[str, str], list[Rate]]:
        levels = dict(session.exec(select(Metric.code, Metric.level).order_by(Metric.sort_order, Metric.code)).all())
        return levels, list(session.exec(select(Rate).order_by(Rate.id)).all())

    return _per_session(session, "metric_catalogue", load)


def _window_table(session: Session, windows: dict[int, tuple[date, date]],  # noqa: ANN202
                  pilot_ids: list[int] | None = None):
    """(pilot_id, lo, hi) rows of `windows` (those of `pilot_ids` when given) as a derived
    table: `(VALUES …)` names its columns column1…3 on both SQLite and PostgreSQL. Joined, each report meets only its own pilot's row; a CASE
    with a branch per pilot was evaluated for every row (2,000 pilots: 8 s on PostgreSQL).
    The values are written into the SQL — ints and ISO dates from the pilots' own rows, never
    user text — because 6,000 bound parameters cost the driver a second to parse per query."""
    if pilot_ids is not None:
        wanted = set(pilot_ids)
        windows = {p: w for p, w in windows.items() if p in wanted} or {-1: (date.min, date.min)}
    postgres = session.get_bind().dialect.name == "postgresql"

    def day(d: date) -> str:
        return f"DATE '{d.isoformat()}'" if postgres else f"'{d.isoformat()}'"

    rows = ", ".join(f"({int(pid)}, {day(lo)}, {day(hi)})" for pid, (lo, hi) in sorted(windows.items()))
    body = text(f"SELECT column1, column2, column3 FROM (VALUES {rows}) AS w")  # noqa: S608 - ints and dates only
    return body.columns(column("column1", Integer), column("column2", Date), column("column3", Date)) \
        .subquery("pilot_window")


def _windowed(session: Session, stmt, pilot_ids: list[int], start: date, end: date,  # noqa: ANN001, ANN202
              windows: dict[int, tuple[date, date]] | None):
    """report_window, and with `windows` each pilot's own dates (joined from a VALUES table)."""
    if not windows:
        return report_window(stmt, pilot_ids, start, end)
    # The join keeps each pilot's own rows: an IN list of the same 2,000 ids beside it cost more
    # than the aggregate itself on PostgreSQL (national reported-days count 0.23 s → 0.03 s).
    win = _window_table(session, windows, pilot_ids)
    stmt = stmt.where(DailyReport.report_date >= start, DailyReport.report_date <= end)
    stmt = stmt.join(win, and_(win.c.column1 == DailyReport.pilot_id, DailyReport.report_date >= win.c.column2,
                               DailyReport.report_date <= win.c.column3))
    return stmt


def _report_days_of(session: Session, pilot_ids: list[int], start: date, end: date,
                    windows: dict[int, tuple[date, date]] | None) -> tuple[dict[int, int], set[int]]:
    """({pilot_id: reported days in its window}, the pilots none of whose reports lie outside
    their window — their flows are the pilot's running totals)."""
    if not windows:
        days = session.exec(report_window(select(DailyReport.pilot_id, func.count()), pilot_ids, start, end)
                            .group_by(DailyReport.pilot_id)).all()
        return {pid: n for pid, n in days}, set()
    win = _window_table(session, windows, pilot_ids)
    inside = func.sum(case((and_(DailyReport.report_date >= win.c.column2, DailyReport.report_date <= win.c.column3),
                            1), else_=0))
    rows = session.exec(select(DailyReport.pilot_id, func.count(), inside)
                        .join(win, win.c.column1 == DailyReport.pilot_id).group_by(DailyReport.pilot_id)).all()
    return {pid: int(n) for pid, _, n in rows if n}, {pid for pid, every, n in rows if n and n == every}


def _snapshots(session: Session, windows: dict[int, tuple[date, date]]):  # noqa: ANN202
    """(pilot_id, metric, value) of each branch-level metric on the last day it was reported in
    the pilot's window (value NULL when never). One index walk back from the window's end per
    pilot and metric, which stops at the first report that has the value: grouping every
    report's snapshots to find the last day read 400,000 rows for 2,000 pilots."""
    win = _window_table(session, windows)
    codes = select(Metric.code).where(Metric.level == "branch").subquery("snapshot_metric")
    value = (select(BranchEntry.value).join(DailyReport, DailyReport.id == BranchEntry.report_id)
             .where(DailyReport.pilot_id == win.c.column1, DailyReport.report_date >= win.c.column2,
                    DailyReport.report_date <= win.c.column3, BranchEntry.metric == codes.c.code,
                    BranchEntry.channel == "")
             .order_by(DailyReport.report_date.desc()).limit(1).correlate(win, codes).scalar_subquery())
    return select(win.c.column1, codes.c.code, value).select_from(win).join(codes, true())


def _total_terms(session: Session, pilot_ids: list[int], start: date, end: date,
                 windows: dict[int, tuple[date, date]] | None) -> dict[int, dict[str, float]]:
    """{pilot_id: {days, metric: value}} over the whole window, aggregated in SQL: reported
    days, flows summed, and each snapshot's value on its last reported day. A pilot whose
    reports all lie in its window (the usual "to date") takes its flows from the running
    totals the database keeps per pilot (models.reports.PilotTotal) instead of summing its
    reports: at national scale 20,000 rows read instead of 456,000 summed."""
    days, whole = _report_days_of(session, pilot_ids, start, end, windows)
    out = {pid: {"days": float(n)} for pid, n in days.items()}
    if not out:
        return out
    # Read as frames (plain tuples): 18,000 running totals through ORM rows cost 3× as much.
    parts = []
    if whole:
        parts.append(select(PilotTotal.pilot_id, PilotTotal.metric, PilotTotal.value)
                     .where(among(PilotTotal.pilot_id, whole)))
    partial = [p for p in out if p not in whole]
    if partial:
        flows = _windowed(session, select(DailyReport.pilot_id, ReportTotal.metric, func.sum(ReportTotal.value))
                          .join(DailyReport, DailyReport.id == ReportTotal.report_id), partial, start, end, windows)
        parts.append(flows.group_by(DailyReport.pilot_id, ReportTotal.metric))
    own = {p: windows[p] if windows else (start, end) for p in out}
    parts.append(_snapshots(session, own))
    for stmt in parts:
        rows = frame(session, stmt, ["pilot_id", "metric", "value"], stream=False)
        rows = rows.assign(value=rows["value"].astype("float64")).dropna(subset=["value"])  # unreported snapshots
        for pid, metric, value in zip(rows["pilot_id"].tolist(), rows["metric"].tolist(), rows["value"].tolist(),
                                      strict=True):
            out[pid][metric] = value
    return out


def _clip(df: pd.DataFrame, windows: dict[int, tuple[date, date]] | None) -> pd.DataFrame:
    """Only the rows inside their own pilot's window (when each pilot has one)."""
    if windows is None or df.empty:
        return df
    lo = df["pilot_id"].map({p: w[0] for p, w in windows.items()})
    hi = df["pilot_id"].map({p: w[1] for p, w in windows.items()})
    return df[(df["report_date"] >= lo) & (df["report_date"] <= hi)]


def compute_terms(session: Session, *, pilot_ids: list[int], start: date, end: date,
                  by: str = "total", windows: dict[int, tuple[date, date]] | None = None) -> pd.DataFrame:
    """Index (pilot_id, period); a column per metric code (stored units: flows summed, snapshots
    last), `days` (reported days) and the bases. With `windows` ({pilot_id: (start, end)}, each
    inside start..end) every pilot counts only its own window: many pilots, one set of queries.
    Internal: no permission check."""
    if by not in PERIODS:
        raise ValidationFailed("metrics.err_period", period=by)
    levels, _ = _catalogue(session)
    keys = ["pilot_id", "period"]
    columns = ["days", *levels, *BASES]
    empty = pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=keys), dtype="float64")
    if by == "total":
        totals = _total_terms(session, pilot_ids, start, end, windows)
        if not totals:
            return empty
        branch_of = dict(session.exec(select(Pilot.id, Pilot.branch_id).where(among(Pilot.id, totals))).all())
        bases = _bases(session, branch_of)
        zeros = {c: 0.0 for c, level in levels.items() if level == "staff"}
        rows = [[row.get(c) for c in columns] for row in ({**zeros, **totals[p], **bases[p]} for p in totals)]
        index = pd.MultiIndex.from_tuples([(p, "total") for p in totals], names=keys)
        return pd.DataFrame(rows, index=index, columns=columns, dtype="float64")
    days = _clip(_report_days(session, pilot_ids, start, end), windows)
    if days.empty:
        return empty
    pilots = pilot_frame(session, pilot_ids)
    days["period"] = _period(days, by, pilots)
    terms = days.groupby(keys).size().rename("days").to_frame()
    staff = _clip(_report_totals(session, pilot_ids, start, end), windows)
    if not staff.empty:
        staff["period"] = _period(staff, by, pilots)
        terms = terms.join(staff.groupby([*keys, "metric"])["value"].sum().unstack("metric"))
    branch = _clip(_branch_rows(session, pilot_ids, start, end), windows)
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


def values_of(session: Session, *, windows: dict[int, tuple[date, date]],
              codes: list[str]) -> dict[int, dict[str, float | None]]:
    """Metrics (flow summed, snapshot last; money in yuan) and rates of many pilots, each over
    its own window {pilot_id: (start, end)}: {pilot_id: {code: value or None}}. None when the
    pilot has no report in its window or the value is undefined. Internal: no permission check."""
    levels, rates = _catalogue(session)
    wanted = {r.code: r for r in rates if r.code in codes}
    unknown = [c for c in codes if c not in wanted and c not in levels]
    if unknown:
        raise ValidationFailed("metrics.err_code", code=unknown[0])
    windows = {p: w for p, w in windows.items() if w[0] <= w[1]}
    out: dict[int, dict[str, float | None]] = {p: dict.fromkeys(codes) for p in windows}
    if not windows:
        return out
    terms = compute_terms(session, pilot_ids=sorted(windows), start=min(w[0] for w in windows.values()),
                          end=max(w[1] for w in windows.values()), windows=windows)
    if terms.empty:
        return out
    metrics = to_display(session, terms[[c for c in codes if c in levels]]).to_dict("index")
    derived = apply_rates(terms, list(wanted.values())).to_dict("index")
    for (pid, _), values in metrics.items():
        values.update(derived[(pid, _)])
        out[pid] = {c: (None if values.get(c) is None or pd.isna(values[c]) else float(values[c])) for c in codes}
    return out


def value_of(session: Session, *, pilot_id: int, code: str, start: date, end: date) -> float | None:
    """A metric (flow summed, snapshot last; money in yuan) or a rate of one pilot over a window.
    Internal (e.g. stage criteria): no permission check."""
    if start > end:
        levels, rates = _catalogue(session)
        if code not in levels and all(r.code != code for r in rates):
            raise ValidationFailed("metrics.err_code", code=code)
        return None
    return values_of(session, windows={pilot_id: (start, end)}, codes=[code])[pilot_id][code]


def to_display(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """Money columns from fen to yuan (a copy); other columns unchanged."""
    money = _per_session(session, "money_metrics",
                         lambda: set(session.exec(select(Metric.code).where(Metric.kind == "money")).all()))
    out = frame.copy()
    for code in money & set(out.columns):
        out[code] = out[code] / 100
    return out
