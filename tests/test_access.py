import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from portal import audit, db, pilots, users
from portal.errors import PermissionDenied
from tests import factories


@pytest.fixture
def world(engine):
    ids = factories.org(engine)
    a, b = ids["subs"]
    coach = factories.user(engine, "coach")
    other_coach = factories.user(engine, "coach")
    lead_a = factories.user(engine, "branch_lead", branch_ids=[a])
    staff = factories.user(engine, "staff", staff_no="A00")
    hq = factories.user(engine, "hq", branch_ids=[ids["head"]])
    pa = factories.pilot(engine, a, coaches=[coach])
    pb = factories.pilot(engine, b, coaches=[other_coach])
    return {"coach": coach, "lead_a": lead_a, "staff": staff, "hq": hq, "pa": pa, "pb": pb, "ids": ids}


def test_staff_cannot_call_head_office_services_and_denial_is_audited(engine, world):
    staff = world["staff"]
    for fn, kw in ((pilots.create_pilot, {"name": "x", "branch_id": 1, "start_date": "2026-11-01"}),
                   (users.list_users, {}), (audit.search, {}), (pilots.list_pilots, {})):
        with pytest.raises(PermissionDenied):
            db.run(fn, engine=engine, actor=staff, **kw)
    with Session(engine) as s:
        denied = s.exec(select(AuditLog).where(AuditLog.outcome == "denied",
                                               AuditLog.actor_username == staff.username)).all()
    assert {d.action for d in denied} >= {"pilots.create", "users.list", "audit.search", "pilots.list"}


def test_coach_sees_only_assigned_pilots(engine, world):
    df = db.run(pilots.list_pilots, engine=engine, write=False, actor=world["coach"])
    assert df["id"].tolist() == [world["pa"]]
    with pytest.raises(PermissionDenied):
        db.run(pilots.get_pilot, engine=engine, actor=world["coach"], pilot_id=world["pb"])


def test_branch_lead_sees_only_own_branch(engine, world):
    df = db.run(pilots.list_pilots, engine=engine, write=False, actor=world["lead_a"])
    assert df["id"].tolist() == [world["pa"]]
    assert db.run(pilots.get_pilot, engine=engine, actor=world["lead_a"], pilot_id=world["pa"])["id"] == world["pa"]
    with pytest.raises(PermissionDenied):
        db.run(pilots.get_pilot, engine=engine, actor=world["lead_a"], pilot_id=world["pb"])


def test_hq_sees_all_and_only_hq_edits(engine, world):
    df = db.run(pilots.list_pilots, engine=engine, write=False, actor=world["hq"])
    assert set(df["id"]) == {world["pa"], world["pb"]}
    with pytest.raises(PermissionDenied):
        db.run(pilots.update_pilot, engine=engine, actor=world["coach"], pilot_id=world["pa"], name="改名")
    db.run(pilots.update_pilot, engine=engine, actor=world["hq"], pilot_id=world["pa"], name="改名")
    assert db.run(pilots.get_pilot, engine=engine, actor=world["hq"], pilot_id=world["pa"])["name"] == "改名"
