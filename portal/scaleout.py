"""Scale-out: from a validated pilot, create a wave of new pilots in one step — same
package, targets, SOP checklist (dated by each new start), contest rules and budget
template — all in one transaction or none; a double click creates the wave once."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlmodel import Session, col, select

from models.contests import Contest, ContestRule
from models.org import Branch, Role
from models.pilot import Phase, Pilot, PilotCoach
from models.programme import ScaleWave, WavePilot
from portal import audit, budget, clock, contests, kpis, maturity, playbook
from portal.access import Actor, require_pilot, require_role
from portal.budget_lines import apply_package_template
from portal.errors import ValidationFailed
from portal.id_lists import among
from portal.pilots import pilot_day

SOURCE_PHASES = (Phase.validating, Phase.scaling)
MAX_WAVE = 500
ELIGIBLE_LEVELS = ("branch", "sub_branch")


def source_choices(session: Session, *, actor: Actor) -> dict[int, str]:
    """{id: label} of the pilots a wave can start from (validating or scaling), for HQ."""
    require_role(actor, Role.hq, action="scaleout.sources")
    rows = session.exec(select(Pilot.id, Pilot.name, Branch.name).join(Branch, Branch.id == Pilot.branch_id)
                        .where(col(Pilot.phase).in_(SOURCE_PHASES)).order_by(Pilot.id)).all()
    return {int(pid): f"{name} · {branch}" for pid, name, branch in rows}


def candidates(session: Session, *, actor: Actor, source_pilot_id: int, region: str = "",
               county_only: bool = False, max_stage: int | None = None) -> pd.DataFrame:
    """Branches a wave could go to, filtered by region, county flag and maturity stage."""
    require_pilot(session, actor, source_pilot_id, roles=(Role.hq,), action="scaleout.candidates")
    busy = set(session.exec(select(Pilot.branch_id).where(col(Pilot.phase).in_(
        (Phase.planning, Phase.pilot, Phase.validating)))).all())
    stmt = (select(Branch.id, Branch.code, Branch.name, Branch.region, Branch.is_county)
            .where(col(Branch.level).in_(ELIGIBLE_LEVELS), Branch.active).order_by(Branch.code))
    if region:
        stmt = stmt.where(Branch.region == region)
    if county_only:
        stmt = stmt.where(Branch.is_county)
    rows = session.exec(stmt).all()
    stages = maturity.current_stages(session, [b.id for b in rows])
    out = [{"branch_id": b.id, "code": b.code, "name": b.name, "region": b.region, "is_county": b.is_county,
            "stage": stages.get(b.id, 1), "busy": b.id in busy} for b in rows]
    df = pd.DataFrame(out, columns=["branch_id", "code", "name", "region", "is_county", "stage", "busy"])
    if max_stage is not None:
        df = df[df["stage"] <= max_stage]
    return df.reset_index(drop=True)


def create_wave(session: Session, *, actor: Actor, source_pilot_id: int, branch_ids: list[int],
                start_date: date, request_key: str, name: str = "") -> int:
    require_role(actor, Role.hq, action="scaleout.create")
    # Lock the source first: a second click waits here, then finds the first click's wave.
    source = require_pilot(session, actor, source_pilot_id, roles=(Role.hq,), action="scaleout.create", lock=True)
    existing = session.exec(select(ScaleWave).where(ScaleWave.source_pilot_id == source.id,
                                                    ScaleWave.request_key == request_key)).first()
    if existing is not None:
        return existing.id  # the same request again (double click, retry)
    if source.phase not in SOURCE_PHASES:
        raise ValidationFailed("scaleout.err_source_phase")
    if not source.package_code:
        raise ValidationFailed("scaleout.err_no_package")
    ids = sorted(set(branch_ids))
    if not ids or len(ids) > MAX_WAVE:
        raise ValidationFailed("scaleout.err_branches", max=MAX_WAVE)
    if not request_key or len(request_key) > 64:
        raise ValidationFailed("scaleout.err_request")
    if start_date < clock.today() - timedelta(days=7):
        raise ValidationFailed("scaleout.err_start")
    branches = {b.id: b for b in session.exec(select(Branch).where(col(Branch.id).in_(ids))).all()}
    bad = [i for i in ids if i not in branches or branches[i].level not in ELIGIBLE_LEVELS]
    if bad or source.branch_id in ids:
        raise ValidationFailed("scaleout.err_branch_level", ids=bad or [source.branch_id])
    name = (name or "").strip() or f"{source.name} · 推广 {start_date.isoformat()}"
    wave = ScaleWave(name=name[:100], source_pilot_id=source.id, start_date=start_date, request_key=request_key,
                     created_by=actor.user_id, created_at=clock.now_utc())
    session.add(wave)
    session.flush()
    coaches = session.exec(select(PilotCoach.user_id).where(PilotCoach.pilot_id == source.id)).all()
    source_contest = session.exec(select(Contest).where(Contest.pilot_id == source.id)
                                  .order_by(Contest.id)).first()
    rules = session.exec(select(ContestRule).where(ContestRule.contest_id == source_contest.id)
                         .order_by(ContestRule.id)).all() if source_contest else []
    for bid in ids:
        pilot = Pilot(name=f"{branches[bid].name}·{source.name}"[:100], branch_id=bid, phase=Phase.planning,
                      wecom_status=source.wecom_status, goal=source.goal, segment=source.segment,
                      sub_segment=source.sub_segment, start_date=start_date,
                      end_date=start_date + (source.end_date - source.start_date), budget_cap_fen=source.budget_cap_fen,
                      source_pilot_id=source.id, created_at=clock.now_utc(), created_by=actor.user_id)
        session.add(pilot)
        session.flush()
        for uid in coaches:
            session.add(PilotCoach(pilot_id=pilot.id, user_id=uid))
        session.add(WavePilot(wave_id=wave.id, pilot_id=pilot.id))
        session.flush()
        playbook.adopt_package(session, actor=actor, pilot_id=pilot.id, package_code=source.package_code)
        apply_package_template(session, actor=actor, pilot_id=pilot.id)
        if rules:
            contests.create_contest(
                session, actor=actor, name=source_contest.name, pilot_id=pilot.id, kind=source_contest.kind,
                start_date=pilot.start_date, end_date=pilot.end_date, description=source_contest.description,
                person_daily_cap=source_contest.person_daily_cap_c / 100,
                approval_threshold=source_contest.approval_threshold_c / 100,
                show_names_top=source_contest.show_names_top,
                rules=[{"metric": r.metric, "points_per_unit": r.points_per_unit_c / 100, "unit_size": r.unit_size,
                        "daily_cap_points": r.daily_cap_c / 100, "valid_only": r.valid_only} for r in rules])
    audit.record(session, actor=actor, action="scaleout.create", entity="wave", entity_id=wave.id,
                 after={"source": source.id, "branches": ids, "start": start_date, "name": wave.name})
    return wave.id


def waves(session: Session, *, actor: Actor) -> pd.DataFrame:
    """Every wave's pilots next to their source: day, KPI light, SOP and budget use."""
    require_role(actor, Role.hq, action="scaleout.list")
    on = clock.today()
    waves_ = session.exec(select(ScaleWave.id, ScaleWave.name, ScaleWave.source_pilot_id)
                          .order_by(ScaleWave.created_at)).all()
    # Columns, not ORM pilots (a national rollout lists thousands); the rows carry what
    # budget.totals and kpis.summary_lights read.
    shown = (Pilot.id, Pilot.name, Pilot.phase, Pilot.start_date, Pilot.end_date, Pilot.budget_cap_fen)
    members: dict[int, list] = {w.id: [] for w in waves_}
    for row in session.exec(select(WavePilot.wave_id, *shown).join(Pilot, Pilot.id == WavePilot.pilot_id)
                            .where(among(WavePilot.wave_id, list(members))).order_by(Pilot.id)).all():
        members[row.wave_id].append(row)
    sources = {p.id: p for p in session.exec(select(*shown).where(
        among(Pilot.id, [w.source_pilot_id for w in waves_]))).all()}
    everyone = list({p.id: p for p in [*sources.values(), *(m for ms in members.values() for m in ms)]}.values())
    money = budget.totals(session, everyone)
    lights = kpis.summary_lights(session, everyone, on)
    rows = []
    for wave in waves_:
        source = sources[wave.source_pilot_id]
        for pilot in [source, *members[wave.id]]:
            rows.append({"wave": wave.name, "role": "source" if pilot.id == source.id else "wave",
                         "pilot_id": pilot.id, "pilot": pilot.name, "phase": pilot.phase,
                         "day": pilot_day(pilot.start_date, pilot.end_date, on),
                         "kpi": lights[pilot.id],
                         "budget_used_pct": money[pilot.id].used_pct})
    return pd.DataFrame(rows, columns=["wave", "role", "pilot_id", "pilot", "phase", "day", "kpi",
                                       "budget_used_pct"])
