"""Four-stage maturity of a branch: each stage's exit criteria (seed data, HQ-tunable
thresholds) are evaluated — metric thresholds from the daily reports, evidence items from
the checklist — into a suggested stage with its reasons; HQ confirms or overrides it."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlmodel import Session, col, select

from models.org import Branch, Role
from models.pilot import Pilot
from models.playbook import Stage, StageCriterion
from models.programme import StageAssessment
from models.sop import ChecklistItem
from portal import audit, clock, metrics
from portal import text as text_rule
from portal.access import Actor, require_branch, require_pilot, require_role
from portal.errors import NotFound, ValidationFailed
from portal.id_lists import among

OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}


def _criterion_result(session: Session, c: StageCriterion, pilot: Pilot | None, on: date,
                      done_codes: set[str], planned_codes: set[str]) -> dict:
    result = {"code": c.code, "stage": c.stage_code, "kind": c.kind, "name_zh": c.name_zh, "name_en": c.name_en,
              "metric": c.metric, "op": c.op, "threshold": c.threshold, "value": None, "met": False,
              "reason": ""}
    if pilot is None:
        result["reason"] = "no_pilot"
        return result
    if c.kind == "evidence":
        items = c.sop_items or []
        missing = [code for code in items if code not in done_codes]
        result["value"] = f"{len(items) - len(missing)}/{len(items)}"
        result["met"] = bool(items) and not missing
        result["reason"] = "" if result["met"] else ("not_planned" if set(items) - planned_codes else "open_items")
        return result
    window = max(1, c.window_days or 7)
    end = min(on, pilot.end_date)
    start = max(pilot.start_date, end - timedelta(days=window - 1))
    value = metrics.value_of(session, pilot_id=pilot.id, code=c.metric, start=start, end=end) if start <= end else None
    result["value"] = value
    if value is None:
        result["reason"] = "no_data"
    else:
        result["met"] = OPS[c.op](value, c.threshold)
        result["reason"] = "" if result["met"] else "below" if c.op == ">=" else "above"
    return result


def branch_pilot(session: Session, branch_id: int, on: date) -> Pilot | None:
    """The pilot whose data speaks for the branch: the latest one that has started."""
    return session.exec(select(Pilot).where(Pilot.branch_id == branch_id, Pilot.start_date <= on,
                                            Pilot.phase != "stopped")
                        .order_by(col(Pilot.start_date).desc())).first()


def evaluate(session: Session, *, branch_id: int, on: date | None = None) -> dict:
    """Criteria results per stage and the suggested stage: one past every stage whose exit
    criteria are all met, in order (a branch cannot skip a stage)."""
    on = on or clock.today()
    pilot = branch_pilot(session, branch_id, on)
    done, planned = set(), set()
    if pilot is not None:
        for code, status in session.exec(select(ChecklistItem.template_item_code, ChecklistItem.status)
                                         .where(ChecklistItem.pilot_id == pilot.id)).all():
            planned.add(code)
            if status == "done":
                done.add(code)
    stages = session.exec(select(Stage).order_by(Stage.order)).all()
    criteria = session.exec(select(StageCriterion).order_by(StageCriterion.stage_code,
                                                            StageCriterion.sort_order)).all()
    per_stage, suggested, still_climbing = [], 1, True
    for stage in stages:
        results = [_criterion_result(session, c, pilot, on, done, planned) for c in criteria
                   if c.stage_code == stage.code]
        met = bool(results) and all(r["met"] for r in results)
        per_stage.append({"order": stage.order, "code": stage.code, "name_zh": stage.name_zh,
                          "name_en": stage.name_en, "met": met, "criteria": results})
        if still_climbing and met:
            suggested = min(stage.order + 1, len(stages))
        else:
            still_climbing = False
    return {"branch_id": branch_id, "pilot_id": pilot.id if pilot else None, "on": on,
            "suggested": suggested, "stages": per_stage,
            "complete": all(s["met"] for s in per_stage)}


def _branch_scope(session: Session, actor: Actor, branch_id: int, action: str) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise NotFound("err.not_found", entity="branch", id=branch_id)
    if actor.role == Role.coach:
        pilot = branch_pilot(session, branch_id, clock.today())
        if pilot is None:
            raise NotFound("err.not_found", entity="pilot", id=branch_id)
        require_pilot(session, actor, pilot.id, roles=(Role.coach,), action=action)
    else:
        require_branch(actor, branch_id, roles=(Role.hq, Role.branch_lead), action=action)
    return branch


def assess(session: Session, *, actor: Actor, branch_id: int, on: date | None = None) -> dict:
    """The evaluation plus the confirmed history, for the branch's people and HQ."""
    _branch_scope(session, actor, branch_id, "maturity.view")
    result = evaluate(session, branch_id=branch_id, on=on)
    result["history"] = history(session, branch_id)
    result["current"] = int(result["history"]["stage"].iloc[-1]) if not result["history"].empty else None
    return result


def confirm(session: Session, *, actor: Actor, branch_id: int, stage: int, note: str = "",
            on: date | None = None) -> int:
    """HQ confirms the suggested stage, or overrides it with a written note."""
    require_role(actor, Role.hq, action="maturity.confirm")
    if session.get(Branch, branch_id) is None:
        raise NotFound("err.not_found", entity="branch", id=branch_id)
    on = on or clock.today()
    count = len(session.exec(select(Stage.id)).all())
    if not isinstance(stage, int) or not 1 <= stage <= count:
        raise ValidationFailed("maturity.err_stage", max=count)
    result = evaluate(session, branch_id=branch_id, on=on)
    note = text_rule.clean(note, max_len=1000, multiline=True, key="maturity.err_note_long")
    overridden = stage != result["suggested"]
    if overridden and len(note) < 5:
        raise ValidationFailed("maturity.err_note")
    row = StageAssessment(branch_id=branch_id, pilot_id=result["pilot_id"], assessed_on=on,
                          suggested_stage=result["suggested"], stage=stage, overridden=overridden, note=note,
                          criteria=[{k: (v if not isinstance(v, date) else v.isoformat()) for k, v in r.items()}
                                    for s in result["stages"] for r in s["criteria"]],
                          confirmed_by=actor.user_id, confirmed_at=clock.now_utc())
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="maturity.confirm", entity="branch", entity_id=branch_id,
                 after={"stage": stage, "suggested": result["suggested"], "note": note, "on": on})
    return row.id


def history(session: Session, branch_id: int) -> pd.DataFrame:
    """Confirmed stages in order, with the days spent in each until the next assessment."""
    rows = session.exec(select(StageAssessment).where(StageAssessment.branch_id == branch_id)
                        .order_by(StageAssessment.assessed_on, StageAssessment.id)).all()
    df = pd.DataFrame([{"assessed_on": r.assessed_on, "stage": r.stage, "suggested": r.suggested_stage,
                        "overridden": r.overridden, "note": r.note} for r in rows],
                      columns=["assessed_on", "stage", "suggested", "overridden", "note"])
    if not df.empty:
        following = df["assessed_on"].shift(-1).fillna(clock.today())
        df["days_in_stage"] = [(b - a).days for a, b in zip(df["assessed_on"], following, strict=True)]
    else:
        df["days_in_stage"] = []
    return df


def current_stages(session: Session, branch_ids: list[int] | None = None) -> dict[int, int]:
    """{branch_id: latest confirmed stage} (internal: callers check scope)."""
    stmt = select(StageAssessment.branch_id, StageAssessment.stage).order_by(StageAssessment.assessed_on,
                                                                            StageAssessment.id)
    if branch_ids is not None:
        stmt = stmt.where(among(StageAssessment.branch_id, branch_ids))
    return dict(session.exec(stmt).all())


def tune_threshold(session: Session, *, actor: Actor, criterion_code: str, threshold: float) -> None:
    """HQ tunes a metric criterion; the seed loader keeps the tuned value from then on."""
    require_role(actor, Role.hq, action="maturity.tune")
    c = session.exec(select(StageCriterion).where(StageCriterion.code == criterion_code)).first()
    if c is None or c.kind != "metric":
        raise ValidationFailed("maturity.err_criterion")
    try:
        value = float(threshold)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("maturity.err_threshold") from exc
    if value != value or value < 0 or value > 1_000_000:
        raise ValidationFailed("maturity.err_threshold")
    before = {"threshold": c.threshold}
    c.threshold, c.tuned = value, True
    session.add(c)
    audit.record(session, actor=actor, action="maturity.tune", entity="stage_criterion", entity_id=c.code,
                 before=before, after={"threshold": value})
