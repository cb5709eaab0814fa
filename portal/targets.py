"""Pilot targets: the KPIs of an adopted package become targets (source "package"); HQ or the
pilot's coach can set their own (source "manual"), which a later adoption never overwrites.

Weekly KPIs become one row per pilot week (1..N, same value each week); whole-pilot KPIs one row
with week 0. Money is in yuan and rates are fractions, as in the content files."""

from __future__ import annotations

import math

import pandas as pd
from sqlmodel import Session, col, delete, select

from models.org import Role
from models.pilot import Pilot, PilotTarget
from models.playbook import Metric, Rate
from portal import audit
from portal.access import Actor, require_pilot
from portal.errors import ValidationFailed
from portal.i18n import label
from portal.numbers import parse_decimal

WRITERS = (Role.hq, Role.coach)
READERS = (Role.hq, Role.coach, Role.branch_lead)
MAX_VALUE = 1e12
MAX_PER_WEEK_RATE = 14.0  # two touches a day is already far beyond the guide's ceiling


def pilot_weeks(pilot: Pilot) -> int:
    return max(1, math.ceil(((pilot.end_date - pilot.start_date).days + 1) / 7))


def _rows(session: Session, pilot_id: int) -> dict[tuple[str, int], PilotTarget]:
    return {(t.metric, t.week): t for t in session.exec(
        select(PilotTarget).where(PilotTarget.pilot_id == pilot_id))}


def apply_package_kpis(session: Session, *, actor: Actor, pilot_id: int, kpis: list[dict]) -> dict[str, int]:
    """Create or update the package targets of a pilot from a package's KPI list
    ({metric, target, basis}). Manual targets stay; package targets of metrics no longer in
    the list are removed. Returns counts created/updated/kept/removed (the caller audits)."""
    pilot = require_pilot(session, actor, pilot_id, roles=WRITERS, action="targets.apply")
    existing = _rows(session, pilot.id)
    wanted: dict[tuple[str, int], float] = {}
    for kpi in kpis:
        weeks = range(1, pilot_weeks(pilot) + 1) if kpi["basis"] == "week" else (0,)
        for week in weeks:
            wanted[(kpi["metric"], week)] = float(kpi["target"])
    counts = {"created": 0, "updated": 0, "kept": 0, "removed": 0}
    for key, value in wanted.items():
        row = existing.get(key)
        if row is None:
            session.add(PilotTarget(pilot_id=pilot.id, metric=key[0], week=key[1], value=value, source="package"))
            counts["created"] += 1
        elif row.source == "manual":
            counts["kept"] += 1
        elif row.value != value:
            row.value = value
            session.add(row)
            counts["updated"] += 1
    stale = [r.id for k, r in existing.items() if r.source == "package" and k not in wanted]
    if stale:
        session.exec(delete(PilotTarget).where(col(PilotTarget.id).in_(stale)))
        counts["removed"] = len(stale)
    session.flush()
    return counts


def _validate(session: Session, pilot: Pilot, metric: str, week: object, value: object) -> tuple[int, float]:
    m = session.exec(select(Metric).where(Metric.code == metric)).first()
    r = None if m else session.exec(select(Rate).where(Rate.code == metric)).first()
    if m is None and r is None:
        raise ValidationFailed("targets.err_metric", metric=str(metric)[:40])
    if isinstance(week, bool) or not isinstance(week, int) or not 0 <= week <= pilot_weeks(pilot):
        raise ValidationFailed("targets.err_week", max=pilot_weeks(pilot))
    number = float(parse_decimal(value, field="value"))
    limit = MAX_VALUE if m else (MAX_PER_WEEK_RATE if r.per_week else 1.0)
    if number > limit:
        raise ValidationFailed("targets.err_value", max=limit)
    return week, number


def set_target(session: Session, *, actor: Actor, pilot_id: int, metric: str, week: int, value: object) -> None:
    """HQ or the pilot's coach sets a target by hand; it is then kept on re-adoption."""
    pilot = require_pilot(session, actor, pilot_id, roles=WRITERS, action="targets.set")
    week, number = _validate(session, pilot, metric, week, value)
    row = _rows(session, pilot_id).get((metric, week))
    before = audit.snapshot(row) if row else None
    if row is None:
        row = PilotTarget(pilot_id=pilot_id, metric=metric, week=week, value=number, source="manual")
    else:
        row.value, row.source = number, "manual"
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="targets.set", entity="pilot_target", entity_id=row.id,
                 before=before, after=row)


def metric_catalogue(session: Session, language: str) -> dict[str, dict]:
    """{code: {name, unit, kind, order}} of metrics and rates; kind is the metric's kind
    (count | money | score), "rate" for a fraction or "per_week" for a weekly frequency."""
    out = {m.code: {"name": label(language, m.name_zh, m.name_en), "unit": label(language, m.unit_zh, m.unit_en),
                    "kind": m.kind, "order": m.sort_order} for m in session.exec(select(Metric))}
    out.update({r.code: {"name": label(language, r.name_zh, r.name_en), "unit": "",
                         "kind": "per_week" if r.per_week else "rate", "order": 1000}
                for r in session.exec(select(Rate))})
    return out


TARGET_COLUMNS = ["metric", "name", "unit", "kind", "week", "value", "source"]


def list_targets(session: Session, *, actor: Actor, pilot_id: int) -> pd.DataFrame:
    """The pilot's targets with metric names in the actor's language, by metric then week."""
    require_pilot(session, actor, pilot_id, roles=READERS, action="targets.list")
    names = metric_catalogue(session, actor.language)
    unknown = {"name": "", "unit": "", "kind": "count", "order": 9999}
    rows = sorted(_rows(session, pilot_id).values(),
                  key=lambda t: (names.get(t.metric, unknown)["order"], t.metric, t.week))
    return pd.DataFrame([{
        "metric": t.metric, "name": names.get(t.metric, unknown)["name"] or t.metric,
        "unit": names.get(t.metric, unknown)["unit"], "kind": names.get(t.metric, unknown)["kind"],
        "week": t.week, "value": t.value, "source": t.source,
    } for t in rows], columns=TARGET_COLUMNS)
