"""The three-step matcher, browsing and search, adopting a package into a pilot (targets +
SOP checklist hand-off), and the playbook page."""

import dataclasses
import itertools
import re
from datetime import date

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.pilot import Pilot, PilotTarget
from models.sop import ChecklistItem
from portal import db, playbook, targets
from portal.access import CLI_ACTOR
from portal.errors import NotFound, PermissionDenied, ValidationFailed
from tests import factories
from tests.apptest import goto, open_as, open_tab, raw_keys

CJK = re.compile(r"[\u4e00-\u9fff]")
STATUSES = {"none": ("add", "scenario_add"), "has_customers": ("reactivate", "scenario_reactivate")}
GOALS = {"new_accounts": "scenario_new_accounts", "product_marketing": "scenario_product",
         "aum_growth": "scenario_aum"}
SEGMENTS = {"payroll": "white_collar", "elderly": "senior", "rural": "farming"}


def read(engine, fn, **kw):
    return db.run(fn, engine=engine, write=False, **kw)


def make_world(engine) -> dict:
    """Org, a coach with a payroll × AUM pilot, another coach, a staff member and a branch lead."""
    ids = factories.org(engine)
    coach = factories.user(engine, "coach")
    other = factories.user(engine, "coach")
    staff = factories.user(engine, "staff", staff_no="A00")
    lead = factories.user(engine, "branch_lead", branch_ids=[ids["subs"][0]])
    pid = factories.pilot(engine, ids["subs"][0], coaches=[coach], start=date(2026, 11, 2),
                          wecom_status="has_customers", goal="aum_growth", segment="payroll",
                          sub_segment="white_collar")
    return {"ids": ids, "coach": coach, "other": other, "staff": staff, "lead": lead, "pilot": pid}


@pytest.fixture
def world(engine):
    return make_world(engine)


def test_matcher_gives_exactly_one_package_for_all_18_combinations(engine):
    seen = set()
    for status, goal, segment in itertools.product(STATUSES, GOALS, SEGMENTS):
        result = read(engine, playbook.match, actor=CLI_ACTOR, wecom_status=status, goal=goal, segment=segment,
                      sub_segment=SEGMENTS[segment])
        package, flow = result["package"], result["flow"]
        assert (package["goal"], package["segment"]) == (goal, segment)
        assert package["code"] == f"{segment}_{goal}"
        assert flow["code"] == STATUSES[status][0]
        assert result["template_codes"] == ["rhythm", "service_plan", GOALS[goal], STATUSES[status][1]]
        assert [t["code"] for t in result["sop"]] == [GOALS[goal], STATUSES[status][1]]
        assert all(t["items"] for t in result["sop"])
        assert package["sub_segment_note"] and len(package["script"]) >= 3
        assert package["kpis"] and all(k["known"] and k["name"] for k in package["kpis"])
        seen.add(package["code"])
    assert len(seen) == 9


def test_reactivation_flow_has_its_five_scenes(engine):
    result = read(engine, playbook.match, actor=CLI_ACTOR, wecom_status="has_customers", goal="new_accounts",
                  segment="rural")
    assert [s["code"] for s in result["flow"]["scene"]] == [
        "care", "tag_product", "behaviour_lead", "after_sales", "lapsed_campaign"]
    none = read(engine, playbook.match, actor=CLI_ACTOR, wecom_status="none", goal="new_accounts", segment="rural")
    assert "scene" not in none["flow"] and none["flow"]["script"]


@pytest.mark.parametrize("bad", [
    {"wecom_status": "many"}, {"goal": "crypto"}, {"segment": "students"},
    {"sub_segment": "farming"},  # a rural sub-segment under payroll
])
def test_matcher_refuses_unknown_choices(engine, bad):
    args = {"wecom_status": "none", "goal": "new_accounts", "segment": "payroll", **bad}
    with pytest.raises(ValidationFailed):
        read(engine, playbook.match, actor=CLI_ACTOR, **args)


def test_every_role_reads_in_its_language_and_nobody_anonymous(engine, world):
    en = dataclasses.replace(world["staff"], language="en")
    zh = read(engine, playbook.get_package, actor=world["staff"], code="elderly_new_accounts")
    eng = read(engine, playbook.get_package, actor=en, code="elderly_new_accounts")
    assert CJK.search(zh["name"]) and not CJK.search(eng["name"])
    assert "{客户称呼}" in zh["script"][0]["text"] and "{customer_name}" in eng["script"][0]["text"]
    assert len(read(engine, playbook.list_packages, actor=world["lead"])) == 9
    assert len(read(engine, playbook.list_scenarios, actor=world["coach"])) == 5
    channels = read(engine, playbook.list_channels, actor=world["staff"])
    assert len(channels["channels"]) == 6 and channels["pass_rate"]["fail_below"] == 0.5
    with pytest.raises(PermissionDenied):
        read(engine, playbook.match, actor=None, wecom_status="none", goal="new_accounts", segment="payroll")


def test_search_finds_chinese_substrings_in_packages_and_scripts(engine):
    hits = read(engine, playbook.search, actor=CLI_ACTOR, text="训练营")
    assert {"package", "script"} <= set(hits["kind"])
    assert "payroll_aum_growth" in set(hits["package"])
    assert "reactivate" in set(read(engine, playbook.search, actor=CLI_ACTOR, text="积分兑换")["package"])
    assert read(engine, playbook.search, actor=CLI_ACTOR, text="没有这样的词xyz").empty
    assert read(engine, playbook.search, actor=CLI_ACTOR, text="   ").empty


def _targets(engine, pid):
    with Session(engine) as s:
        return {(t.metric, t.week): (t.value, t.source) for t in s.exec(
            select(PilotTarget).where(PilotTarget.pilot_id == pid))}


def _checklist(engine, pid):
    with Session(engine) as s:
        return s.exec(select(ChecklistItem.template_code).where(ChecklistItem.pilot_id == pid)).all()


def test_adopt_creates_targets_and_checklist_and_is_idempotent(engine, world):
    pid = world["pilot"]
    first = db.run(playbook.adopt_package, engine=engine, actor=world["coach"], pilot_id=pid,
                   package_code="payroll_aum_growth")
    assert first["flow_code"] == "reactivate" and first["sop_items_created"] > 0
    assert first["template_codes"] == ["rhythm", "service_plan", "scenario_aum", "scenario_reactivate"]
    got = _targets(engine, pid)
    # camp_checkins is a whole-pilot KPI (week 0); aum_increase a weekly one (weeks 1-4).
    assert got[("camp_checkins", 0)] == (500, "package")
    assert [w for (m, w) in got if m == "aum_increase"] == [1, 2, 3, 4]
    assert set(_checklist(engine, pid)) == set(first["template_codes"])
    n_targets, n_items = len(got), len(_checklist(engine, pid))

    db.run(targets.set_target, engine=engine, actor=world["coach"], pilot_id=pid, metric="camp_checkins",
           week=0, value="800")
    again = db.run(playbook.adopt_package, engine=engine, actor=CLI_ACTOR, pilot_id=pid,
                   package_code="payroll_aum_growth")
    assert again["sop_items_created"] == 0 and again["targets"]["created"] == 0
    assert again["targets"]["kept"] == 1
    after = _targets(engine, pid)
    assert len(after) == n_targets and len(_checklist(engine, pid)) == n_items
    assert after[("camp_checkins", 0)] == (800, "manual")
    with Session(engine) as s:
        assert s.get(Pilot, pid).package_code == "payroll_aum_growth"
        adoptions = s.exec(select(AuditLog).where(AuditLog.action == "playbook.adopt")).all()
    assert len(adoptions) == 2 and adoptions[0].after["package_code"] == "payroll_aum_growth"
    view = read(engine, targets.list_targets, actor=world["lead"], pilot_id=pid)
    assert len(view) == n_targets and set(view["source"]) == {"package", "manual"}


def test_adopt_refuses_staff_leads_and_other_coaches(engine, world):
    for actor in (world["staff"], world["lead"], world["other"]):
        with pytest.raises(PermissionDenied):
            db.run(playbook.adopt_package, engine=engine, actor=actor, pilot_id=world["pilot"],
                   package_code="payroll_aum_growth")
    assert not _targets(engine, world["pilot"]) and not _checklist(engine, world["pilot"])
    with Session(engine) as s:
        denied = s.exec(select(AuditLog).where(AuditLog.outcome == "denied")).all()
    assert len(denied) == 3


def test_adopt_mismatch_refused_once_started_but_moves_a_planning_pilot(engine, world):
    with pytest.raises(ValidationFailed) as err:
        db.run(playbook.adopt_package, engine=engine, actor=world["coach"], pilot_id=world["pilot"],
               package_code="rural_new_accounts")
    assert err.value.key == "playbook.err_mismatch"
    assert not _targets(engine, world["pilot"])
    planning = factories.pilot(engine, world["ids"]["subs"][0], coaches=[world["coach"]], phase="planning",
                               goal="aum_growth", segment="payroll", sub_segment="white_collar")
    db.run(playbook.adopt_package, engine=engine, actor=world["coach"], pilot_id=planning,
           package_code="rural_new_accounts")
    with Session(engine) as s:
        p = s.get(Pilot, planning)
        assert (p.goal, p.segment, p.sub_segment, p.package_code) == (
            "new_accounts", "rural", "", "rural_new_accounts")
    assert ("new_accounts", 1) in _targets(engine, planning)
    with pytest.raises(ValidationFailed):
        db.run(playbook.adopt_package, engine=engine, actor=world["coach"], pilot_id=planning,
               package_code="no_such_package")


def test_set_target_validates(engine, world):
    pid = world["pilot"]
    for metric, week, value in [("nope", 0, 1), ("valid_adds", 9, 1), ("valid_adds", -1, 1),
                                ("valid_add_rate", 0, 1.5), ("valid_adds", 1, "-3"), ("valid_adds", 1, "abc"),
                                ("valid_adds", 1, float("nan"))]:
        with pytest.raises(ValidationFailed):
            db.run(targets.set_target, engine=engine, actor=world["coach"], pilot_id=pid, metric=metric,
                   week=week, value=value)
    with pytest.raises(PermissionDenied):
        db.run(targets.set_target, engine=engine, actor=world["lead"], pilot_id=pid, metric="valid_adds",
               week=1, value=5)
    db.run(targets.set_target, engine=engine, actor=world["coach"], pilot_id=pid, metric="valid_add_rate",
           week=0, value=0.85)
    assert _targets(engine, pid) == {("valid_add_rate", 0): (0.85, "manual")}


def test_pilot_pack_needs_an_adopted_package(engine, world):
    with pytest.raises(ValidationFailed):
        read(engine, playbook.pack, actor=world["coach"], pilot_id=world["pilot"])
    with pytest.raises(NotFound):
        read(engine, playbook.pack, actor=CLI_ACTOR, pilot_id=99999)
    with pytest.raises(PermissionDenied):
        read(engine, playbook.pack, actor=world["staff"], pilot_id=world["pilot"])


# ---------------------------------------------------------------- page


def test_coach_adopts_from_the_page_after_confirming(demo_db):
    at = goto(open_as("coach_li"), "playbook")
    assert not at.exception and not raw_keys(at)
    assert at.code, "scripts are shown as copyable code blocks"
    at.selectbox(key="pb_status").set_value("has_customers")
    at.selectbox(key="pb_goal").set_value("aum_growth")
    at.selectbox(key="pb_segment").set_value("payroll").run()
    at.button(key="adopt_go").click().run()
    assert at.warning, "adoption needs the confirmation first"
    next(c for c in at.checkbox if c.key.startswith("adopt_ok_")).check().run()
    at.button(key="adopt_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success


def test_staff_page_has_no_adopt_control(demo_db):
    at = goto(open_as("staff_demo"), "playbook")
    assert not at.exception and not raw_keys(at)
    assert not [b for b in at.button if b.key == "adopt_go"]
    open_tab(at, "pb_tab", "playbook.tab.search").text_input(key="pb_query").input("开户").run()
    assert not at.exception and at.code
