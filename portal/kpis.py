"""Targets against actuals, to date: one rule for every traffic light in the portal.

Weekly targets add up over the weeks elapsed (the current week pro rata by day); whole-pilot
targets (week 0) count in full; rate targets compare the rate over the pilot so far. Green at
≥ 100 % of target, amber at ≥ 80 %, red below (inverted for lower-is-better metrics)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from models.pilot import Pilot, PilotTarget
from models.playbook import Metric, Rate
from portal import clock, metrics
from portal.access import Actor, require_pilot
from portal.id_lists import among
from portal.query_frame import frame
from portal.targets import metric_catalogue

GREEN, AMBER = 1.0, 0.8
COLUMNS = ["metric", "name_zh", "name_en", "target", "actual", "ratio", "light"]


def lights(shares: np.ndarray) -> np.ndarray:
    """light() of an array of ratios (NaN = unmeasurable)."""
    return np.select([np.isnan(shares), shares >= GREEN, shares >= AMBER], ["grey", "green", "amber"], "red")


def light(ratio: float | None) -> str:
    return str(lights(np.array([np.nan if ratio is None else ratio], dtype="float64"))[0])


def _elapsed_days(start: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Days of the pilot up to and including `on` (0 or less before the start)."""
    return (on - start).astype("timedelta64[D]").astype(np.int64) + 1


def _flow_shares(week: np.ndarray, value: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """Each flow target row's part to date: a weekly target pro rata by the days of its week
    elapsed, a whole-pilot target (week 0) in full."""
    days_in = np.clip(elapsed - (week - 1) * 7, 0, 7)
    return np.where(week == 0, value, value * days_in / 7)


def _weeks_reached(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The pilot week `end` falls in (at least week 1)."""
    return np.maximum(1, (_elapsed_days(start, end) - 1) // 7 + 1)


def target_to_date(rows: list, pilot: Pilot, on: date) -> float:
    """Flow targets: weekly targets summed over the weeks elapsed by `on` (the current week pro
    rata by day), whole-pilot targets (week 0) in full. `pilot`: anything with start/end dates."""
    elapsed = _elapsed_days(np.datetime64(pilot.start_date, "D"), np.datetime64(min(on, pilot.end_date), "D"))
    weeks = np.array([t.week for t in rows], dtype=np.int64)
    return float(_flow_shares(weeks, np.array([t.value for t in rows], dtype="float64"), elapsed).sum())


def rate_target(rows: list, start: date, end: date) -> float | None:
    """Rate targets: the highest target of the pilot weeks reached by `end` (None before any)."""
    reached = _weeks_reached(np.datetime64(start, "D"), np.datetime64(end, "D"))
    values = [t.value for t in rows if t.week <= reached]
    return max(values) if values else None


def ratios(actual: np.ndarray, target: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """actual / target, or target / actual where lower is better, rounded to 4 places; NaN when
    unmeasurable (no actual, no or zero target)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(lower, np.where(actual != 0, target / actual, 1.0), actual / target)
    measurable = ~np.isnan(actual) & ~np.isnan(target) & (target != 0)
    return np.where(measurable, np.round(value, 4), np.nan)


def ratio(actual: float | None, target: float | None, direction: str) -> float | None:
    """ratios() of one pair; None when unmeasurable."""
    value = ratios(np.array([np.nan if actual is None else actual], dtype="float64"),
                   np.array([np.nan if target is None else target], dtype="float64"),
                   np.array([direction != "higher"]))[0]
    return None if np.isnan(value) else float(value)


def _progress_long(session: Session, pilots: list[Pilot], on: date) -> pd.DataFrame:
    """progress() of many pilots as one long frame (pilot_id + COLUMNS) from one set of
    queries and array arithmetic (no Python step per pilot or target: 20,000 targets at national
    scale); pilots without targets, or not started by `on`, have no rows."""
    ids = [p.id for p in pilots]
    t = frame(session, select(PilotTarget.pilot_id, PilotTarget.metric, PilotTarget.week, PilotTarget.value)
              .where(among(PilotTarget.pilot_id, ids)), ["pilot_id", "metric", "week", "value"], stream=False)
    started = {p.id: p for p in pilots if on >= p.start_date}
    t = t[t["pilot_id"].isin(list(started))]
    if t.empty:
        return pd.DataFrame(columns=["pilot_id", *COLUMNS])
    names = {c: (zh, en, d) for c, zh, en, d in session.exec(
        select(Metric.code, Metric.name_zh, Metric.name_en, Metric.direction))}
    names |= {c: (zh, en, "higher") for c, zh, en in session.exec(select(Rate.code, Rate.name_zh, Rate.name_en))}
    rates = set(session.exec(select(Rate.code)).all())
    live = [started[pid] for pid in dict.fromkeys(t["pilot_id"].tolist())]
    order = {p.id: i for i, p in enumerate(pilots)}
    live.sort(key=lambda p: order[p.id])
    actuals = metrics.values_of(session, windows={p.id: (p.start_date, min(on, p.end_date)) for p in live},
                                codes=sorted(t["metric"].unique()))
    # Per target row: its pilot's start and "to date" end, then the flow part / rate candidate.
    # Dates converted once per pilot, then spread to its rows by position (not per target row).
    at = pd.Index([p.id for p in live]).get_indexer(t["pilot_id"].to_numpy(dtype=np.int64))
    start = clock.day_array([p.start_date for p in live])[at]
    end = clock.day_array([min(on, p.end_date) for p in live])[at]
    week, value = t["week"].to_numpy(dtype=np.int64), t["value"].to_numpy(dtype="float64")
    is_rate = t["metric"].isin(rates).to_numpy()
    t = t.assign(flow=np.where(is_rate, 0.0, _flow_shares(week, value, _elapsed_days(start, end))),
                 candidate=np.where(is_rate & (week <= _weeks_reached(start, end)), value, np.nan))
    grouped = t.groupby(["pilot_id", "metric"], sort=False).agg(flow=("flow", "sum"), best=("candidate", "max"))
    grouped = grouped.reset_index()
    grouped["order"] = grouped["pilot_id"].map(order)
    grouped = grouped.sort_values(["order", "metric"], kind="stable").reset_index(drop=True)
    target = np.where(grouped["metric"].isin(rates), grouped["best"], grouped["flow"]).astype("float64")
    codes = grouped["metric"].tolist()  # plain strs: iterating an Arrow string column is 10× slower
    meta = [names.get(code, (code, code, "higher")) for code in codes]
    actual = np.array([actuals.get(p, {}).get(code) for p, code in zip(grouped["pilot_id"].tolist(), codes,
                                                                        strict=True)], dtype="float64")
    share = ratios(actual, target, np.array([m[2] != "higher" for m in meta]))
    return pd.DataFrame({
        "pilot_id": grouped["pilot_id"].astype(np.int64), "metric": grouped["metric"],
        "name_zh": [m[0] for m in meta], "name_en": [m[1] for m in meta],
        "target": _nullable(np.round(target, 4)), "actual": _nullable(actual), "ratio": _nullable(share),
        "light": lights(share)}, columns=["pilot_id", *COLUMNS])


def _nullable(values: np.ndarray) -> list:
    """Floats with None where NaN, as the per-pilot tables have always shown them."""
    return [None if v != v else float(v) for v in values]


def progress_many(session: Session, pilots: list[Pilot], on: date) -> dict[int, pd.DataFrame]:
    """progress() of many pilots with one set of queries: {pilot_id: frame} (internal: callers
    have checked scope). Pilots without targets, or not started by `on`, get an empty frame."""
    empty = pd.DataFrame(columns=COLUMNS)
    out = {p.id: empty.copy(deep=False) for p in pilots}  # 2,000 pilots: building each costs 1 s
    long = _progress_long(session, pilots, on)  # one long frame split once: ~0.5 ms per pilot frame
    for pilot_id, part in long.groupby("pilot_id", sort=False):
        out[int(pilot_id)] = part[COLUMNS].reset_index(drop=True)
    return out


def summary_lights(session: Session, pilots: list[Pilot], on: date) -> dict[int, str]:
    """summary_light() of many pilots without a frame per pilot (the HQ portfolio and the
    scale-out page show only the light: 2,000 frames cost seconds)."""
    long = _progress_long(session, pilots, on)
    worst = long.groupby("pilot_id")["light"].agg(_worst)
    return {p.id: worst.get(p.id, "grey") for p in pilots}


def progress(session: Session, pilot: Pilot, on: date) -> pd.DataFrame:
    """Per target metric: target and actual to date, their ratio and the light (internal:
    callers have checked scope)."""
    return progress_many(session, [pilot], on)[pilot.id]


def _worst(colours) -> str:  # noqa: ANN001
    """red before amber before green; grey when none of them (nothing measurable)."""
    present = set(colours)
    return next((colour for colour in ("red", "amber", "green") if colour in present), "grey")


def summary_light(df: pd.DataFrame) -> str:
    """The worst light of a pilot's targets (grey when nothing is measurable yet)."""
    return _worst(df["light"])


def pilot_progress(session: Session, *, actor: Actor, pilot_id: int, on: date | None = None) -> pd.DataFrame:
    """progress() for one pilot the actor may see."""
    pilot = require_pilot(session, actor, pilot_id, roles=("hq", "coach", "branch_lead"), action="kpis.view")
    return progress(session, pilot, on or clock.today())


def target_choices(session: Session, *, actor: Actor) -> dict[str, str]:
    """{code: name} of the metrics and rates a target can be set on."""
    return {code: item["name"] for code, item in metric_catalogue(session, actor.language).items()}
