"""The pilot life-cycle planning → pilot → validating → scaling → closed (and stopped):
allowed moves in one table, each move recorded with who, when, why and an evidence snapshot;
the validation scorecard and the go/no-go decision."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlmodel import Session, select

from models.org import Role
from models.pilot import Phase, Pilot
from models.programme import PhaseDecision, PilotMeasurement
from portal import audit, budget, clock, kpis, maturity, metrics
from portal import text as text_rule
from portal.access import Actor, require_pilot
from portal.errors import ValidationFailed
from portal.sop_views import completion_of

TRANSITIONS: dict[str, frozenset[str]] = {
    Phase.planning: frozenset({Phase.pilot, Phase.stopped}),
    Phase.pilot: frozenset({Phase.validating, Phase.stopped}),
    Phase.validating: frozenset({Phase.scaling, Phase.closed, Phase.pilot, Phase.stopped}),
    Phase.scaling: frozenset({Phase.closed}),
    Phase.closed: frozenset(),
    Phase.stopped: frozenset(),
}
# Validation thresholds from the guide (one place): uplift of added vs not-added customers,
# outbound add pass rate, SOP completion, maturity stage and NPS.
UPLIFT_MIN_PCT = 20.0
PASS_RATE_MIN = 0.60
SOP_COMPLETION_MIN = 0.90
STAGE_MIN = 3
NPS_MIN = 70.0
MEASUREMENTS = {"uplift_pct": (-100.0, 1000.0), "nps": (-100.0, 100.0)}


def _latest_measure(session: Session, pilot_id: int, code: str) -> float | None:
    row = session.exec(select(PilotMeasurement).where(PilotMeasurement.pilot_id == pilot_id,
                                                      PilotMeasurement.code == code)
                       .order_by(PilotMeasurement.measured_on.desc(), PilotMeasurement.id.desc())).first()
    return row.value if row else None


def _row(code: str, value, threshold, passed: bool | None) -> dict:  # noqa: ANN001
    return {"criterion": code, "value": value, "threshold": threshold,
            "status": "no_data" if passed is None else ("pass" if passed else "fail")}


def scorecard_of(session: Session, pilot: Pilot, on: date | None = None) -> dict:
    """Each validation criterion with value, threshold and pass / fail / no_data (internal)."""
    on = on or clock.today()
    end = min(on, pilot.end_date)
    progress = kpis.progress(session, pilot, on)
    measured = progress[progress["light"] != "grey"]
    met = int((measured["ratio"] >= kpis.GREEN).sum()) if not measured.empty else 0
    rows = [_row("targets_met", f"{met}/{len(measured)}", "100%",
                 None if measured.empty else met == len(measured))]
    uplift = _latest_measure(session, pilot.id, "uplift_pct")
    rows.append(_row("uplift", uplift, UPLIFT_MIN_PCT, None if uplift is None else uplift >= UPLIFT_MIN_PCT))
    pass_rate = metrics.value_of(session, pilot_id=pilot.id, code="pass_rate", start=pilot.start_date, end=end) \
        if end >= pilot.start_date else None
    rows.append(_row("pass_rate", pass_rate, PASS_RATE_MIN, None if pass_rate is None else pass_rate >= PASS_RATE_MIN))
    money = budget.totals(session, [pilot])[pilot.id]
    rows.append(_row("within_cap", money.used_fen / 100, money.limit_fen / 100, money.used_fen <= money.limit_fen))
    sop = completion_of(session, [pilot.id], on).iloc[0]
    rate = float(sop["completion_rate"]) if sop["total"] else None
    rows.append(_row("sop_completion", rate, SOP_COMPLETION_MIN, None if rate is None else rate >= SOP_COMPLETION_MIN))
    stage = maturity.current_stages(session, [pilot.branch_id]).get(pilot.branch_id) \
        or maturity.evaluate(session, branch_id=pilot.branch_id, on=on)["suggested"]
    rows.append(_row("maturity", stage, STAGE_MIN, stage >= STAGE_MIN))
    nps = _latest_measure(session, pilot.id, "nps")
    if nps is None:
        nps = metrics.value_of(session, pilot_id=pilot.id, code="nps", start=pilot.start_date, end=end) \
            if end >= pilot.start_date else None
    rows.append(_row("nps", nps, NPS_MIN, None if nps is None else nps > NPS_MIN))
    failed = [r["criterion"] for r in rows if r["status"] == "fail"]
    return {"pilot_id": pilot.id, "on": on, "criteria": rows, "failed": failed,
            "recommendation": "go" if not failed else "no_go"}


def scorecard(session: Session, *, actor: Actor, pilot_id: int) -> dict:
    pilot = require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach, Role.branch_lead),
                          action="lifecycle.scorecard")
    return scorecard_of(session, pilot)


def record_measurement(session: Session, *, actor: Actor, pilot_id: int, code: str, value: object,
                       note: str = "", measured_on: date | None = None) -> int:
    require_pilot(session, actor, pilot_id, roles=(Role.hq,), action="lifecycle.measure")
    if code not in MEASUREMENTS:
        raise ValidationFailed("lifecycle.err_measure_code")
    try:
        number = float(str(value).strip().rstrip("%"))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("lifecycle.err_measure_value") from exc
    low, high = MEASUREMENTS[code]
    if number != number or not low <= number <= high:
        raise ValidationFailed("lifecycle.err_measure_value")
    on = measured_on or clock.today()
    if on > clock.today():
        raise ValidationFailed("lifecycle.err_future")
    row = PilotMeasurement(pilot_id=pilot_id, code=code, value=number, measured_on=on, note=(note or "").strip()[:500],
                           recorded_by=actor.user_id, recorded_at=clock.now_utc())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="lifecycle.measure", entity="pilot", entity_id=pilot_id,
                 after=audit.snapshot(row))
    return row.id


def evidence(session: Session, pilot: Pilot, on: date) -> dict:
    """What a decision rests on, frozen into the decision row."""
    card = scorecard_of(session, pilot, on)
    return {"on": on.isoformat(), "phase": pilot.phase, "scorecard": card["criteria"],
            "recommendation": card["recommendation"],
            "kpis": kpis.progress(session, pilot, on).to_dict("records")}


def transition(session: Session, *, actor: Actor, pilot_id: int, to_phase: str, rationale: str) -> int:
    """Move a pilot along its life-cycle (HQ only); refused unless the table allows it."""
    pilot = require_pilot(session, actor, pilot_id, roles=(Role.hq,), action="lifecycle.transition", lock=True)
    if to_phase not in TRANSITIONS.get(pilot.phase, frozenset()):
        raise ValidationFailed("lifecycle.err_transition", current=pilot.phase, target=to_phase)
    rationale = text_rule.clean(rationale, min_len=5, max_len=2000, multiline=True, key="lifecycle.err_rationale")
    decision = ""
    if pilot.phase == Phase.validating and to_phase in (Phase.scaling, Phase.closed, Phase.stopped):
        decision = "go" if to_phase == Phase.scaling else "no_go"
    on = clock.today()
    row = PhaseDecision(pilot_id=pilot.id, from_phase=pilot.phase, to_phase=to_phase, decision=decision,
                        rationale=rationale, evidence=evidence(session, pilot, on), decided_by=actor.user_id,
                        decided_at=clock.now_utc())
    before = audit.snapshot(pilot)
    pilot.phase = to_phase
    session.add(pilot)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="lifecycle.transition", entity="pilot", entity_id=pilot.id,
                 before=before, after={**audit.snapshot(pilot), "decision": decision, "rationale": rationale})
    return row.id


def decisions(session: Session, *, actor: Actor, pilot_id: int) -> pd.DataFrame:
    require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach, Role.branch_lead),
                  action="lifecycle.history")
    rows = session.exec(select(PhaseDecision).where(PhaseDecision.pilot_id == pilot_id)
                        .order_by(PhaseDecision.decided_at)).all()
    return pd.DataFrame([{"decided_at": clock.to_local(r.decided_at).strftime("%Y-%m-%d %H:%M"),
                          "from_phase": r.from_phase, "to_phase": r.to_phase, "decision": r.decision,
                          "rationale": r.rationale, "recommendation": r.evidence.get("recommendation", "")}
                         for r in rows],
                        columns=["decided_at", "from_phase", "to_phase", "decision", "rationale", "recommendation"])


def day_of(pilot: Pilot, on: date) -> int:
    return max(0, min((on - pilot.start_date).days + 1, (pilot.end_date - pilot.start_date).days + 1))


def weeks(pilot: Pilot) -> list[tuple[int, date, date]]:
    out, week, start = [], 1, pilot.start_date
    while start <= pilot.end_date:
        out.append((week, start, min(pilot.end_date, start + timedelta(days=6))))
        week, start = week + 1, start + timedelta(days=7)
    return out
