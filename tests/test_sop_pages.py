"""The Today and checklist pages through AppTest on the demo database: a coach completes an item
with one click and the progress moves; evidence goes through the dialog; HQ instantiates a
checklist; out-of-window dates warn; a branch lead reads without acting."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models.org import User
from models.pilot import Pilot
from models.sop import ChecklistItem
from portal import access, clock, db, pilots, sop_items, sop_views
from portal.access import CLI_ACTOR
from portal.i18n import translate
from tests.apptest import goto, open_as, open_tab, raw_keys


def actor(username: str):
    with Session(db.get_engine()) as s:
        return access.load_actor(s, s.exec(select(User.id).where(User.username == username)).one())


def item(item_id: int) -> ChecklistItem:
    with Session(db.get_engine()) as s:
        return s.get(ChecklistItem, item_id)


def metric(at, key: str) -> int:
    return int(next(m.value for m in at.metric if m.label == translate("zh", key)))


def ok(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert not raw_keys(at), raw_keys(at)


def test_coach_completes_an_item_from_today_with_one_click_and_progress_moves(demo_db):
    at = open_as("coach_li")
    ok(at)
    assert at.title[0].value == translate("zh", "nav.today")
    rows = db.run(sop_views.agenda, write=False, actor=actor("coach_li"))["items"]
    target = rows[rows["bucket"].isin(["overdue", "today"]) & rows["can_complete"] & ~rows["evidence_required"]].iloc[0]
    bucket = f"sop.bucket.{target['bucket']}"
    progress, count = at.progress[0].value, metric(at, bucket)

    at.button(key=f"done_{target['id']}").click().run()
    ok(at)
    done = item(int(target["id"]))
    assert done.status == "done" and done.done_by == actor("coach_li").user_id
    assert at.progress[0].value > progress
    assert metric(at, bucket) == count - 1
    assert not [b for b in at.button if b.key == f"done_{target['id']}"]


def test_evidence_items_complete_through_the_dialog_as_plain_text(demo_db):
    at = open_as("coach_li")
    rows = db.run(sop_views.agenda, write=False, actor=actor("coach_li"))["items"]
    target = rows[rows["can_complete"] & rows["evidence_required"] & (rows["evidence_note"] == "")].iloc[0]
    at.button(key=f"done_{target['id']}").click().run()
    ok(at)
    assert item(int(target["id"])).status != "done"  # the dialog opened; nothing saved yet
    note = "<b>培训签到 12 人</b> [链接](javascript:alert(1))"
    at.text_area(key=f"today_note_{target['id']}").input(note)
    at.text_input(key=f"today_link_{target['id']}").input("not a url")
    at.button(key=f"today_submit_{target['id']}").click().run()
    assert at.error and translate("zh", "sop.err_link", max=500) == at.error[0].value
    assert item(int(target["id"])).status != "done"
    at.text_input(key=f"today_link_{target['id']}").input("https://pan.example.com/x")
    at.button(key=f"today_submit_{target['id']}").click().run()
    assert not at.exception
    saved = item(int(target["id"]))
    assert (saved.status, saved.evidence_note, saved.evidence_link) == ("done", note, "https://pan.example.com/x")

    at = goto(at, "checklist")
    at.selectbox(key=f"cl_item_{saved.pilot_id}").set_value(saved.id).run()
    ok(at)
    assert any(t.value == translate("zh", "sop.act.evidence", note=note) for t in at.text)
    assert not any("<b>" in m.value for m in at.markdown)


def test_checklist_page_progress_moves_when_an_item_is_marked_done(demo_db):
    with Session(db.get_engine()) as s:
        pilot_id = s.exec(select(Pilot.id).where(Pilot.phase == "pilot")).first()
    at = goto(open_as("coach_zhao"), "checklist")
    at.selectbox(key="cl_pilot").set_value(pilot_id).run()
    ok(at)
    view = db.run(sop_views.pilot_checklist, write=False, actor=actor("coach_zhao"), pilot_id=pilot_id)
    items = view["items"]
    target = items[items["moves"].map(lambda m: "done" in m) & ~items["evidence_required"]].iloc[0]
    overall = at.progress[0].value
    at.selectbox(key=f"cl_item_{pilot_id}").set_value(int(target["id"])).run()
    open_tab(at, f"cl_act_{target['id']}_{target['version']}", "sop.move.done")  # only the open tab is drawn
    at.button(key=f"sop_move_done_{target['id']}_{target['version']}").click().run()
    ok(at)
    assert item(int(target["id"])).status == "done"
    assert at.progress[0].value > overall
    assert at.get("plotly_chart")


def test_hq_instantiates_a_checklist_and_out_of_window_dates_warn(demo_db):
    with Session(db.get_engine()) as s:
        branch_id = s.exec(select(Pilot.branch_id)).first()
    pid = db.run(pilots.create_pilot, actor=CLI_ACTOR, name="新试点（无清单）", branch_id=branch_id,
                 start_date=clock.today() + timedelta(days=3))
    at = goto(open_as("hq_wang"), "checklist")
    at.selectbox(key="cl_pilot").set_value(pid).run()
    ok(at)
    assert any(i.value == translate("zh", "sop.empty") for i in at.info)
    at.button(key="sop_instantiate").click().run()
    ok(at)
    assert len(db.run(sop_views.pilot_checklist, write=False, actor=actor("hq_wang"), pilot_id=pid)["items"]) > 20
    assert at.progress[0].value == 0

    at.session_state["cl_add_box"] = True  # the add-item section is drawn once opened
    at.run()
    at.text_input(key="sop_add_title").input("结项三个月后回访")
    at.date_input(key="sop_add_due").set_value(clock.today() + timedelta(days=60))
    at.button(key="sop_add_submit").click().run()
    assert not at.exception and not at.error
    assert at.warning and "晚于试点结束日期" in at.warning[0].value
    with Session(db.get_engine()) as s:
        added = s.exec(select(ChecklistItem).where(ChecklistItem.pilot_id == pid,
                                                   ChecklistItem.title_zh == "结项三个月后回访")).one()
    assert added.template_item_code is None and added.owner_role == "hq"


def test_branch_lead_reads_the_checklist_and_sees_only_own_items_to_act_on(demo_db):
    at = goto(open_as("lead_qinghe"), "checklist")
    ok(at)
    lead = actor("lead_qinghe")
    pilot_id = at.selectbox(key="cl_pilot").value
    items = db.run(sop_views.pilot_checklist, write=False, actor=lead, pilot_id=pilot_id)["items"]
    mine = set(items.loc[items["can_act"], "id"])
    assert mine and all(item(i).assignee_user_id == lead.user_id for i in mine)
    assert len(at.selectbox(key=f"cl_item_{pilot_id}").options) == len(mine)
    assert not [b for b in at.button if b.key == "sop_add_submit"]
    assert not [b for b in at.button if (b.key or "").startswith("sop_edit_submit")]


def test_pages_in_english_have_no_raw_keys(demo_db):
    for username, keys in (("coach_li", ("today", "checklist")), ("hq_wang", ("checklist",)),
                           ("lead_qinghe", ("checklist",))):
        at = open_as(username)
        at.sidebar.selectbox(key="lang_select").set_value("en").run()
        for key in keys:
            at = goto(at, key)
            ok(at)
            assert at.title[0].value == translate("en", f"nav.{key}")


def test_today_shows_the_first_cards_of_a_long_bucket_and_all_on_request(demo_db):
    from datetime import date

    coach = actor("coach_li")
    pilot_id = int(db.run(sop_views.agenda, write=False, actor=coach)["items"]["pilot_id"].iloc[0])
    for n in range(12):  # a long overdue list
        db.run(sop_items.add_item, actor=coach, pilot_id=pilot_id, title=f"补录事项{n:02d}", detail="",
               due_date=clock.today() - timedelta(days=1 + n % 3), owner_role="coach", step=0,
               evidence_required=False)
    cards = db.run(sop_views.agenda, write=False, actor=coach)["cards"]["overdue"]
    assert len(cards) > 10 and [c["due_date"] for c in cards] == sorted(c["due_date"] for c in cards)
    assert all(isinstance(c["due_date"], date) for c in cards)
    at = open_as("coach_li")
    ok(at)
    shown = [b.key for b in at.button if (b.key or "").startswith("done_")]
    overdue_ids = [f"done_{c['id']}" for c in cards if c["can_complete"]]
    assert set(overdue_ids[:10]) <= set(shown) and not set(overdue_ids[10:]) & set(shown)
    at.toggle(key="today_all_overdue").set_value(True).run()
    ok(at)
    assert set(overdue_ids) <= {b.key for b in at.button}
