"""Targets against actuals for the weekly review, for many pilots at once: the review week,
the pilot to date (as of the week's Sunday) and week by week since each pilot's start.

Same rules as portal.kpis (weekly targets pro rata by day, whole-pilot targets in full to date,
rate targets by the pilot week reached, green ≥ 100 %, amber ≥ 80 %, inverted for
lower-is-better metrics; to date it *is* kpis.progress_many) and the same aggregation as
portal.metric_engine, in bulk: values_of / compute_terms over all pilots at once instead of one
value_of per pilot and metric, so a province (200 pilots) costs a handful of grouped queries.
Internal: callers check scope.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from models.pilot import Pilot, PilotTarget
from models.playbook import Metric, Rate
from portal import kpis as kpi_rules
from portal.i18n import label
from portal.metric_engine import compute_terms, to_display, values_of
from portal.metric_rates import apply_rates
from portal.targets import metric_catalogue

KEY_METRIC = "valid_adds"  # the week's headline number per pilot (summary chart, trend chart)
KPI_COLUMNS = ["pilot_id", "scope", "metric", "name", "unit", "kind", "target", "actual", "ratio", "light"]
TREND_COLUMNS = ["pilot_id", "week_no", "start", "end", "metric", "name", "unit", "kind", "target", "actual",
                 "ratio"]


def key_metric(session: Session, lang: str) -> dict:
    m = session.exec(select(Metric).where(Metric.code == KEY_METRIC)).one()
    return {"code": m.code, "name": label(lang, m.name_zh, m.name_en), "unit": label(lang, m.unit_zh, m.unit_en),
            "kind": m.kind}


def _flow_target(rows: list[PilotTarget], pilot, lo: date, hi: date) -> float | None:  # noqa: ANN001
    """The part of the weekly targets falling in [lo, hi]: kpis' to-date target at `hi` minus the
    one the day before `lo` (pro rata by day). None when the metric only has a whole-pilot
    target (week 0), which has no weekly share. `pilot`: anything with start_date, end_date."""
    if not any(t.week for t in rows):
        return None
    before = kpi_rules.target_to_date(rows, pilot, lo - timedelta(days=1))
    return round(kpi_rules.target_to_date(rows, pilot, hi) - before, 4)


def _catalogue(session: Session, lang: str) -> tuple[dict[str, dict], dict[str, str], set[str]]:
    names = metric_catalogue(session, lang)
    directions = dict(session.exec(select(Metric.code, Metric.direction)).all())
    return names, directions, set(session.exec(select(Rate.code)).all())


def _targets(session: Session, ids: list[int]) -> dict[int, dict[str, list[PilotTarget]]]:
    out: dict[int, dict[str, list[PilotTarget]]] = defaultdict(lambda: defaultdict(list))
    for t in session.exec(select(PilotTarget).where(col(PilotTarget.pilot_id).in_(ids or [-1]))).all():
        out[t.pilot_id][t.metric].append(t)
    return out


def kpis(session: Session, pilots: pd.DataFrame, monday: date, sunday: date, lang: str) -> pd.DataFrame:
    """Long frame KPI_COLUMNS per pilot and targeted metric: scope "to_date" is kpis.progress on
    the Sunday (pilot start to then); scope "week" is the review week clipped to the pilot
    window, with the targets' share of that week — and the key metric's week actual even
    without a target (for the summary chart)."""
    names, directions, rates = _catalogue(session, lang)
    ids = pilots["pilot_id"].tolist()
    targets = _targets(session, ids)
    objects = {p.id: p for p in session.exec(select(Pilot).where(col(Pilot.id).in_(ids or [-1]))).all()}
    to_date = kpi_rules.progress_many(session, list(objects.values()), sunday)
    windows = {p.id: (max(monday, p.start_date), min(sunday, p.end_date)) for p in objects.values()}
    codes = sorted({code for mine in targets.values() for code in mine} | {KEY_METRIC})
    week = values_of(session, windows=windows, codes=codes)
    rows = []
    for pid in ids:
        pilot, mine = objects[pid], targets.get(pid, {})
        lo, hi = windows[pid]
        for code in sorted(set(mine) | {KEY_METRIC}) if lo <= hi else ():
            meta = names.get(code, {"name": code, "unit": "", "kind": "count"})
            target = None
            if code in mine:
                target = (kpi_rules.rate_target(mine[code], pilot.start_date, hi) if code in rates
                          else _flow_target(mine[code], pilot, lo, hi))
            actual = week.get(pid, {}).get(code)
            ratio = kpi_rules.ratio(actual, target, directions.get(code, "higher"))
            rows.append({"pilot_id": pid, "scope": "week", "metric": code, "name": meta["name"], "unit": meta["unit"],
                         "kind": meta["kind"], "target": target, "actual": actual, "ratio": ratio,
                         "light": kpi_rules.light(ratio)})
        for r in to_date[pid].itertuples(index=False):
            meta = names.get(r.metric, {"unit": "", "kind": "count"})
            rows.append({"pilot_id": pid, "scope": "to_date", "metric": r.metric, "name": label(lang, r.name_zh, r.name_en),
                         "unit": meta["unit"], "kind": meta["kind"], "target": r.target, "actual": r.actual,
                         "ratio": r.ratio, "light": r.light})
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def trend(session: Session, pilots: pd.DataFrame, sunday: date, lang: str) -> pd.DataFrame:
    """TREND_COLUMNS: per pilot, pilot week (1-based, up to the one holding `sunday`) and
    targeted metric (plus the key metric): target, actual and ratio of that week."""
    names, directions, rates = _catalogue(session, lang)
    started = pilots[pilots["start_date"] <= sunday]
    if started.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    ids = started["pilot_id"].tolist()
    targets = _targets(session, ids)
    terms = compute_terms(session, pilot_ids=ids, start=min(started["start_date"]), end=sunday, by="pilot_week")
    values = pd.concat([to_display(session, terms),
                        apply_rates(terms, list(session.exec(select(Rate).order_by(Rate.id)).all()))], axis=1)
    rows = []
    for p in started.itertuples():
        mine = targets.get(p.pilot_id, {})
        last = min(sunday, p.end_date)
        for week_no in range(1, (last - p.start_date).days // 7 + 2):
            lo = p.start_date + timedelta(days=7 * (week_no - 1))
            hi = min(lo + timedelta(days=6), last)
            key = (p.pilot_id, week_no)
            for code in sorted(set(mine) | {KEY_METRIC}):
                meta = names.get(code, {"name": code, "unit": "", "kind": "count"})
                actual = values.at[key, code] if key in values.index and code in values.columns else np.nan
                actual = None if pd.isna(actual) else float(actual)
                target = None
                if code in mine:
                    target = (kpi_rules.rate_target(mine[code], p.start_date, hi) if code in rates
                              else _flow_target(mine[code], p, lo, hi))
                rows.append({"pilot_id": p.pilot_id, "week_no": week_no, "start": lo, "end": hi, "metric": code,
                             "name": meta["name"], "unit": meta["unit"], "kind": meta["kind"], "target": target,
                             "actual": actual, "ratio": kpi_rules.ratio(actual, target, directions.get(code, "higher"))})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


def trend_chart(trend: pd.DataFrame) -> pd.DataFrame:
    """The key metric per pilot week, summed over the pilots: [week_no, actual, target]
    (target summed over the pilots that have one; empty when none has)."""
    key = trend[trend["metric"] == KEY_METRIC].astype({"actual": "float64", "target": "float64"})
    if key.empty:
        return pd.DataFrame(columns=["week_no", "actual", "target"])
    grouped = key.groupby("week_no")[["actual", "target"]].sum(min_count=1)
    return grouped.reset_index()[["week_no", "actual", "target"]]
