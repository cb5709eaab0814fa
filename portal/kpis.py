"""Targets against actuals, to date: one rule for every traffic light in the portal.

Weekly targets add up over the weeks elapsed (the current week pro rata by day); whole-pilot
targets (week 0) count in full; rate targets compare the rate over the pilot so far. Green at
≥ 100 % of target, amber at ≥ 80 %, red below (inverted for lower-is-better metrics)."""

from __future__ import annotations

from datetime import date

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


def light(ratio: float | None) -> str:
    if ratio is None:
        return "grey"
    return "green" if ratio >= GREEN else "amber" if ratio >= AMBER else "red"


def target_to_date(rows: list, pilot: Pilot, on: date) -> float:
    """Flow targets: weekly targets summed over the weeks elapsed by `on` (the current week pro
    rata by day), whole-pilot targets (week 0) in full. `pilot`: anything with start/end dates."""
    elapsed = (min(on, pilot.end_date) - pilot.start_date).days + 1
    total = 0.0
    for t in rows:
        if t.week == 0:
            total += t.value
            continue
        week_start = (t.week - 1) * 7
        days_in = min(7, max(0, elapsed - week_start))
        total += t.value * days_in / 7
    return total


def rate_target(rows: list, start: date, end: date) -> float | None:
    """Rate targets: the highest target of the pilot weeks reached by `end` (None before any)."""
    reached = max(1, ((end - start).days // 7) + 1)
    values = [t.value for t in rows if t.week <= reached]
    return max(values) if values else None


def ratio(actual: float | None, target: float | None, direction: str) -> float | None:
    """actual / target, or target / actual for lower-is-better metrics; None when unmeasurable."""
    if actual is None or not target:
        return None
    value = actual / target if direction == "higher" else (target / actual if actual else 1.0)
    return round(value, 4)


def _progress_long(session: Session, pilots: list[Pilot], on: date) -> pd.DataFrame:
    """progress() of many pilots as one long frame (pilot_id + COLUMNS) from one set of
    queries; pilots without targets, or not started by `on`, have no rows."""
    # {pilot_id: {metric: rows with .week, .value}} in entry order, read as a frame: 20,000
    # SQLAlchemy rows cost 0.1 s at national scale, plain tuples a tenth of that.
    ids = [p.id for p in pilots]
    rows = frame(session, select(PilotTarget.pilot_id, PilotTarget.metric, PilotTarget.week, PilotTarget.value)
                 .where(among(PilotTarget.pilot_id, ids)).order_by(PilotTarget.id),
                 ["pilot_id", "metric", "week", "value"], stream=False)
    targets: dict[int, dict[str, list]] = {}
    for t in rows.itertuples(index=False):
        targets.setdefault(t.pilot_id, {}).setdefault(t.metric, []).append(t)
    live = [p for p in pilots if targets.get(p.id) and on >= p.start_date]
    if not live:
        return pd.DataFrame(columns=["pilot_id", *COLUMNS])
    names = {c: (zh, en, d) for c, zh, en, d in session.exec(
        select(Metric.code, Metric.name_zh, Metric.name_en, Metric.direction))}
    names |= {c: (zh, en, "higher") for c, zh, en in session.exec(select(Rate.code, Rate.name_zh, Rate.name_en))}
    rates = set(session.exec(select(Rate.code)).all())
    codes = sorted({code for p in live for code in targets[p.id]})
    actuals = metrics.values_of(session, windows={p.id: (p.start_date, min(on, p.end_date)) for p in live},
                                codes=codes)
    out = []
    for pilot in live:
        end = min(on, pilot.end_date)
        for code, mine in sorted(targets[pilot.id].items()):
            target = (rate_target(mine, pilot.start_date, end) if code in rates
                      else target_to_date(mine, pilot, on))
            actual = actuals.get(pilot.id, {}).get(code)
            zh, en, direction = names.get(code, (code, code, "higher"))
            share = ratio(actual, target, direction)
            out.append((pilot.id, code, zh, en, None if target is None else round(target, 4), actual, share,
                        light(share)))
    return pd.DataFrame(out, columns=["pilot_id", *COLUMNS])


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


def _worst(lights) -> str:  # noqa: ANN001
    """red before amber before green; grey when none of them (nothing measurable)."""
    present = set(lights)
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
