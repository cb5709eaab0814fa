"""Contest pages through AppTest on the demo data."""

from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from models.contests import ManualAward
from models.org import Staff, User
from portal import db, leaderboard, users
from portal.access import CLI_ACTOR
from portal.errors import PermissionDenied
from tests.apptest import goto, open_as, open_tab


def test_staff_home_shows_own_rank_and_points(demo_db):
    at = open_as("staff_demo")
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert any("名" in str(v) for v in labels.values()), labels
    # Early in the week, before any report, the page shows last week's standings instead.
    assert ("本周积分" in labels or "上周积分" in labels) and "距上一名还差" in labels
    me_rows = at.dataframe[0].value
    assert me_rows["me"].sum() == 1 and len(me_rows) <= 15
    # The link to the phone page (portal/quick_ranking.py) opens the contest shown here.
    assert [b.proto.url for b in at.get("link_button")] == ["/m/ranking?contest=1"]


def test_staff_cannot_open_another_contest(demo_db):
    with Session(demo_db) as s:
        other = s.exec(select(Staff).where(Staff.employee_no == "E000080")).first()  # another sub-branch
    db.run(users.create_user, actor=CLI_ACTOR, username="staff_far", password="Far-Away-Staff-9", role="staff",
           staff_no=other.employee_no)
    at = open_as("staff_far")
    assert not at.exception
    assert any("没有参加" in i.value for i in at.info)
    with Session(demo_db) as s:
        user = s.exec(select(User).where(User.username == "staff_far")).one()
    from portal.access import load_actor

    actor = db.run(lambda session: load_actor(session, user.id), write=False)
    try:
        db.run(leaderboard.my_standing, write=False, actor=actor, contest_id=1)
        raise AssertionError("expected a permission error")
    except PermissionDenied:
        pass


def test_coach_gives_a_manual_award(demo_db):
    at = open_tab(goto(open_as("coach_li"), "contests"), "ct_tab", "contests.tab_manage")
    assert not at.exception
    form_inputs = [t for t in at.text_input if t.label in ("奖励积分", "奖励原因（必填）")]
    form_inputs[0].input("5")
    form_inputs[1].input("晨会分享成功案例")
    next(b for b in at.button if b.label == "提交奖励").click().run()
    assert not at.exception
    assert any("已入账" in s.value for s in at.success)
    with Session(demo_db) as s:
        assert s.exec(select(ManualAward).where(ManualAward.reason == "晨会分享成功案例")).one().status == "approved"


def test_tv_mode_renders_the_board(demo_db):
    at = goto(open_as("lead_qinghe"), "contest_tv")
    assert not at.exception and at.header and "🥇" in [s.value for s in at.subheader]


def test_boards_fall_back_to_last_week_only_early_in_an_empty_week():
    import pandas as pd

    empty_week = pd.DataFrame({"points": [0.0, 0.0]})
    monday, tuesday, wednesday = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)
    assert leaderboard.shows_last_week(empty_week, monday)
    assert leaderboard.shows_last_week(empty_week, tuesday)
    assert not leaderboard.shows_last_week(empty_week, wednesday)
    assert not leaderboard.shows_last_week(pd.DataFrame({"points": [0.0, 3.0]}), monday)
    assert not leaderboard.shows_last_week(pd.DataFrame({"points": []}), monday)


def test_tv_and_contest_pages_show_last_week_on_a_monday_before_any_report(demo_db):
    from portal import clock

    today = clock.today()
    next_monday = today + timedelta(days=7 - today.weekday())  # no reports exist after today
    with clock.frozen(datetime.combine(next_monday, time(1, 0), tzinfo=clock.SHANGHAI)):
        tv = goto(open_as("lead_qinghe"), "contest_tv")
        assert not tv.exception
        assert any("上周" in i.value for i in tv.info)
        assert "🥇" in [s.value for s in tv.subheader]  # last week's leader, not a board of zeros
        board = goto(open_as("coach_li"), "contests")
        assert not board.exception
        assert any("上周" in i.value for i in board.info)
        assert board.dataframe[0].value["points"].max() > 0
