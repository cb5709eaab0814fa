"""Pilots: create, edit, assign coaches, list what the actor may see."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import case
from sqlmodel import Session, col, delete, select

from models.org import Branch, Role, User
from models.pilot import DEFAULT_WEEKS, Pilot, PilotCoach, PilotInput
from portal import audit, budget, clock, sop
from portal import text as text_rule
from portal.access import Actor, lock_pilot, require_pilot, require_role, visible_pilot_ids
from portal.errors import ValidationFailed
from portal.id_lists import among

PILOT_DAYS = DEFAULT_WEEKS * 7


def parse_input(**values) -> PilotInput:
    """Validate pilot input; the first problem becomes a ValidationFailed naming the field."""
    if "name" in values:  # one line of plain text (it names sheets, exports and select boxes)
        values["name"] = text_rule.clean(values["name"], max_len=100, min_len=1, key="pilots.err_field", field="name")
    try:
        data = PilotInput.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValidationFailed("pilots.err_field", field=".".join(str(p) for p in err["loc"])) from exc
    if data.end_date is None:
        data.end_date = data.start_date + timedelta(days=PILOT_DAYS - 1)
    if data.end_date < data.start_date:
        raise ValidationFailed("pilots.err_dates")
    if (data.end_date - data.start_date).days > 366:
        raise ValidationFailed("pilots.err_too_long")
    return data


def _coach_ids(session: Session, pilot_id: int) -> list[int]:
    return sorted(session.exec(select(PilotCoach.user_id).where(PilotCoach.pilot_id == pilot_id)).all())


def _view(session: Session, pilot: Pilot) -> dict:
    view = audit.snapshot(pilot)
    view["coaches"] = _coach_ids(session, pilot.id)
    return view


def _assign(session: Session, pilot: Pilot, coach_user_ids: list[int]) -> None:
    ids = sorted(set(coach_user_ids))
    roles = dict(session.exec(select(User.id, User.role).where(col(User.id).in_(ids or [-1]),
                                                                 User.active)).all())
    bad = [i for i in ids if roles.get(i) != Role.coach]
    if bad:
        raise ValidationFailed("pilots.err_coach", ids=bad)
    session.exec(delete(PilotCoach).where(PilotCoach.pilot_id == pilot.id))
    for uid in ids:
        session.add(PilotCoach(pilot_id=pilot.id, user_id=uid))


def create_pilot(session: Session, *, actor: Actor, coach_user_ids: list[int] | None = None,
                 phase: str = "planning", **values) -> int:
    require_role(actor, Role.hq, action="pilots.create")
    data = parse_input(**values)
    if session.get(Branch, data.branch_id) is None:
        raise ValidationFailed("pilots.err_branch")
    pilot = Pilot(**data.model_dump(), phase=phase, created_at=clock.now_utc(), created_by=actor.user_id)
    session.add(pilot)
    session.flush()
    _assign(session, pilot, coach_user_ids or [])
    audit.record(session, actor=actor, action="pilots.create", entity="pilot", entity_id=pilot.id,
                 after=_view(session, pilot))
    return pilot.id


def update_pilot(session: Session, *, actor: Actor, pilot_id: int,
                 coach_user_ids: list[int] | None = None, **values) -> None:
    require_pilot(session, actor, pilot_id, roles=(Role.hq,), action="pilots.update")
    pilot = lock_pilot(session, pilot_id)
    before = _view(session, pilot)
    current = {k: getattr(pilot, k) for k in PilotInput.model_fields}
    data = parse_input(**{**current, **values})
    budget.check_new_cap(session, pilot, cap_fen=data.budget_cap_fen)
    for key, value in data.model_dump().items():
        setattr(pilot, key, value)
    session.add(pilot)
    if coach_user_ids is not None:
        _assign(session, pilot, coach_user_ids)
    session.flush()
    if before["start_date"] != audit.snapshot(pilot)["start_date"]:
        sop.redate(session, pilot)  # open checklist items follow the new dates; done ones stay
    audit.record(session, actor=actor, action="pilots.update", entity="pilot", entity_id=pilot.id,
                 before=before, after=_view(session, pilot))


def get_pilot(session: Session, *, actor: Actor, pilot_id: int) -> dict:
    pilot = require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach, Role.branch_lead),
                          action="pilots.view")
    view = _view(session, pilot)
    view["branch_name"] = session.get(Branch, pilot.branch_id).name
    view["day"] = pilot_day(pilot.start_date, pilot.end_date)
    return view


def pilot_day(start: date, end: date, on: date | None = None) -> int:
    """Day x of the pilot (1-based), clamped to 0 before start and the length after end."""
    on = on or clock.today()
    if on < start:
        return 0
    return min((on - start).days + 1, (end - start).days + 1)


PILOT_COLUMNS = ["id", "name", "branch", "phase", "goal", "segment", "start_date", "end_date", "day",
                 "cap_yuan", "coaches"]


def _visible_rows(session: Session, actor: Actor, *columns, phase: str | None = None) -> list:  # noqa: ANN002
    """`columns` of the pilots the actor may see (joined to their branch): running pilots first
    (what people open most), then upcoming, then finished ones."""
    require_role(actor, Role.hq, Role.coach, Role.branch_lead, action="pilots.list")
    visible = visible_pilot_ids(session, actor)
    phase_rank = case({"pilot": 0, "validating": 1, "scaling": 2, "planning": 3, "closed": 4, "stopped": 5},
                      value=Pilot.phase, else_=6)
    stmt = (select(*columns).select_from(Pilot).join(Branch, Branch.id == Pilot.branch_id)
            .order_by(phase_rank, Pilot.start_date, Pilot.id))
    if visible is not None:
        stmt = stmt.where(among(Pilot.id, visible))
    if phase:
        stmt = stmt.where(Pilot.phase == phase)
    return session.exec(stmt).all()


def list_pilots(session: Session, *, actor: Actor, phase: str | None = None) -> pd.DataFrame:
    rows = _visible_rows(session, actor, Pilot.id, Pilot.name, Branch.name.label("branch"), Pilot.phase, Pilot.goal,
                         Pilot.segment, Pilot.start_date, Pilot.end_date, Pilot.budget_cap_fen, phase=phase)
    coach_names: dict[int, list[str]] = {}
    for pid, name in session.exec(select(PilotCoach.pilot_id, User.display_name)
                                  .join(User, User.id == PilotCoach.user_id)).all():
        coach_names.setdefault(pid, []).append(name)
    return pd.DataFrame([{
        "id": p.id, "name": p.name, "branch": p.branch, "phase": p.phase, "goal": p.goal,
        "segment": p.segment, "start_date": p.start_date, "end_date": p.end_date,
        "day": pilot_day(p.start_date, p.end_date), "cap_yuan": p.budget_cap_fen / 100,
        "coaches": "、".join(sorted(coach_names.get(p.id, []))),
    } for p in rows], columns=PILOT_COLUMNS)


def pilot_choices(session: Session, *, actor: Actor) -> dict[int, str]:
    """{id: label} of the pilots the actor may open, for select boxes (three columns read, not
    the pilot list with its coaches: HQ's choice of 2,000 pilots)."""
    return {int(pid): f"{name} · {branch}"
            for pid, name, branch in _visible_rows(session, actor, Pilot.id, Pilot.name, Branch.name)}


def coach_options(session: Session, *, actor: Actor) -> dict[int, str]:
    require_role(actor, Role.hq, action="pilots.coaches")
    return {u.id: u.display_name or u.username for u in session.exec(
        select(User).where(User.role == Role.coach, User.active).order_by(User.username)).all()}
