from datetime import date

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.pilot import Pilot
from portal import db, pilots
from portal.access import CLI_ACTOR
from portal.errors import ValidationFailed
from tests import factories


def count(engine, model):
    with Session(engine) as s:
        return len(s.exec(select(model)).all())


def test_default_four_weeks_and_cap_and_audit(engine):
    ids = factories.org(engine)
    coach = factories.user(engine, "coach")
    pid = factories.pilot(engine, ids["subs"][0], coaches=[coach], start=date(2026, 11, 2))
    view = db.run(pilots.get_pilot, engine=engine, actor=CLI_ACTOR, pilot_id=pid)
    assert view["end_date"] == "2026-11-29" and view["budget_cap_fen"] == 10_000_000
    assert view["coaches"] == [coach.user_id]
    assert pilots.pilot_day(date(2026, 11, 2), date(2026, 11, 29), on=date(2026, 11, 18)) == 17
    with Session(engine) as s:
        row = s.exec(select(AuditLog).where(AuditLog.action == "pilots.create")).one()
    assert row.after["name"] and row.after["coaches"] == [coach.user_id]


@pytest.mark.parametrize("bad", [
    {"name": ""}, {"name": "x" * 101}, {"goal": "crypto"}, {"segment": "students"},
    {"end_date": date(2026, 10, 1)}, {"budget_cap_fen": 0}, {"budget_cap_fen": -5},
    {"start_date": "not a date"}, {"branch_id": 99999},
])
def test_bad_input_is_refused_and_nothing_saved(engine, bad):
    ids = factories.org(engine)
    values = {"name": "试点", "branch_id": ids["subs"][0], "start_date": date(2026, 11, 2), **bad}
    before = count(engine, Pilot), count(engine, AuditLog)
    with pytest.raises(ValidationFailed):
        db.run(pilots.create_pilot, engine=engine, actor=CLI_ACTOR, **values)
    assert (count(engine, Pilot), count(engine, AuditLog)) == before


def test_only_active_coaches_can_be_assigned(engine):
    ids = factories.org(engine)
    lead = factories.user(engine, "branch_lead", branch_ids=[ids["subs"][0]])
    with pytest.raises(ValidationFailed):
        factories.pilot(engine, ids["subs"][0], coaches=[lead])
