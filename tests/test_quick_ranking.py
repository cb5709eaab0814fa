"""The phone ranking page (/m/ranking) through its HTTP routes on the demo data: the same
figures as the service, names hidden as on the portal, text escaped, sign-in and sign-out with
the portal's accounts, and nothing shown to anyone else."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from models.audit import AuditLog
from models.contests import Contest
from models.org import Staff, User
from portal import auth, board_cache, clock, db, leaderboard, quick_ranking, users
from portal.access import CLI_ACTOR, load_actor
from portal.session_cookie import COOKIE_NAME

PASSWORD = "Pilot#Demo2026"
BASE = "http://testserver"


@pytest.fixture
def client(demo_db):
    board_cache.board.clear()
    with TestClient(Starlette(routes=quick_ranking.ROUTES), base_url=BASE, follow_redirects=False) as c:
        yield c
    board_cache.board.clear()


def sign_in(client: TestClient, username: str, password: str = PASSWORD):  # noqa: ANN201
    return client.post(quick_ranking.SIGNIN_PATH, data={"username": username, "password": password},
                       headers={"Origin": BASE})


def texts(html: str, tag: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", html, re.S)]


def actor_of(engine, username: str):  # noqa: ANN001, ANN201
    with Session(engine) as s:
        user_id = s.exec(select(User.id).where(User.username == username)).one()
    return db.run(lambda session: load_actor(session, user_id), write=False)


def test_anonymous_visitor_gets_the_sign_in_form_and_no_figures(client):
    page = client.get(quick_ranking.QUICK_PATH)
    assert page.status_code == 200
    assert 'name="password"' in page.text and 'id="board"' not in page.text and "会话已超时" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text  # the page runs no script at all


def test_staff_signs_in_and_sees_the_services_figures_with_names_hidden_beyond_the_top(client, demo_db):
    answer = sign_in(client, "staff_demo")
    assert answer.status_code == 303 and answer.headers["location"] == quick_ranking.QUICK_PATH
    flags = {p.strip().lower() for p in answer.headers["set-cookie"].split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    page = client.get(quick_ranking.QUICK_PATH)
    assert page.status_code == 200

    actor = actor_of(demo_db, "staff_demo")
    contest_id = next(iter(db.run(leaderboard.my_contests, write=False, actor=actor)))
    me = db.run(leaderboard.my_standing, write=False, actor=actor, contest_id=contest_id)
    cards = texts(page.text, "div")
    assert f"第 {me['rank']} 名 / 共 {me['participants']} 人" in " ".join(cards)
    rows = [texts(row, "td") for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page.text, re.S) if "<td" in row]
    assert [(int(r[0]), r[1], float(r[2])) for r in rows] == \
        [(int(r.rank), r.name, float(r.points)) for r in me["board"].itertuples()]
    mine = re.findall(r'<tr class="me"[^>]*>(.*?)</tr>', page.text, re.S)
    with Session(demo_db) as s:
        my_name = s.get(Staff, actor.staff_id).name
    assert len(mine) == 1 and f"<td>{my_name}</td>" in mine[0]

    with Session(demo_db) as s:
        show_top = s.get(Contest, contest_id).show_names_top
    full = db.run(leaderboard.shared_board, write=False, contest_id=contest_id, period="week", week_of=None,
                  on=clock.today())
    hidden = full[(full["rank"] > show_top) & (full["staff_id"] != actor.staff_id)]["name"]
    assert show_top and len(hidden) and not [n for n in hidden if n in page.text]


def test_wrong_password_cross_site_and_oversized_forms_set_no_cookie(client, demo_db):
    wrong = sign_in(client, "staff_demo", "not-the-password")
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert "用户名或密码不正确" in wrong.text
    with Session(demo_db) as s:
        failed = s.exec(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()
    assert len(failed) == 1

    forged = client.post(quick_ranking.SIGNIN_PATH, data={"username": "staff_demo", "password": PASSWORD},
                         headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    huge = client.post(quick_ranking.SIGNIN_PATH, content=b"username=" + b"x" * 10_000,
                       headers={"Origin": BASE, "Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413 and "set-cookie" not in huge.headers
    crowded = client.post(quick_ranking.SIGNIN_PATH, content=b"a=1&b=2&c=3&d=4&e=5",
                          headers={"Origin": BASE, "Content-Type": "application/x-www-form-urlencoded"})
    assert crowded.status_code == 400 and "set-cookie" not in crowded.headers
    with Session(demo_db) as s:  # neither reached the account check
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()) == 1
    assert client.get(quick_ranking.QUICK_PATH).text.count('name="password"') == 1


def test_stored_text_reaches_the_phone_as_text(client, demo_db):
    with Session(demo_db) as s:
        contest = s.exec(select(Contest)).first()
        contest.name = "<script>alert('c')</script>"
        leader = s.exec(select(Staff).where(Staff.name == "宋娟")).one()
        leader.name = '<img src=x onerror="alert(1)">'
        s.add_all([contest, leader])
        s.commit()
    sign_in(client, "staff_demo")
    page = client.get(quick_ranking.QUICK_PATH).text
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;c&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_other_roles_bad_and_foreign_contests_are_refused(client, demo_db):
    sign_in(client, "coach_li")
    coach = client.get(quick_ranking.QUICK_PATH)
    assert coach.status_code == 403 and 'id="board"' not in coach.text and "一线员工" in coach.text

    client.cookies.clear()
    sign_in(client, "staff_demo")
    assert client.get(quick_ranking.QUICK_PATH, params={"contest": "1 OR 1=1"}).status_code == 400
    assert client.get(quick_ranking.QUICK_PATH, params={"contest": "１"}).status_code == 400  # full-width digit
    assert client.get(quick_ranking.QUICK_PATH, params={"contest": "999999"}).status_code == 404
    client.cookies.clear()
    with Session(demo_db) as s:  # a staff member of another sub-branch, not in the demo contest
        far = s.exec(select(Staff).where(Staff.employee_no == "E000080")).one()
    db.run(users.create_user, actor=CLI_ACTOR, username="staff_far", password="Far-Away-Staff-9", role="staff",
           staff_no=far.employee_no)
    sign_in(client, "staff_far", "Far-Away-Staff-9")
    nothing = client.get(quick_ranking.QUICK_PATH)
    assert nothing.status_code == 200 and "没有参加" in nothing.text and 'id="board"' not in nothing.text
    foreign = 1
    refused = client.get(quick_ranking.QUICK_PATH, params={"contest": str(foreign)})
    assert refused.status_code == 403 and 'id="board"' not in refused.text
    with Session(demo_db) as s:
        denied = s.exec(select(AuditLog).where(AuditLog.outcome == "denied", AuditLog.entity == "contest")).all()
    assert [str(d.entity_id) for d in denied] == [str(foreign)]


def test_sign_out_revokes_the_session_and_a_disabled_account_sees_the_form(client, demo_db):
    sign_in(client, "staff_demo")
    token = client.cookies.get(COOKIE_NAME)
    assert db.run(auth.resolve, token=token) is not None
    bye = client.post(quick_ranking.SIGNOUT_PATH, headers={"Origin": BASE})
    assert bye.status_code == 303 and f'{COOKIE_NAME}=""' in bye.headers["set-cookie"]
    assert db.run(auth.resolve, token=token) is None
    client.cookies.set(COOKIE_NAME, token)  # a copied cookie no longer works either
    again = client.get(quick_ranking.QUICK_PATH).text
    assert 'name="password"' in again and "会话已超时或已退出" in again

    sign_in(client, "staff_demo")
    db.run(users.update_user, actor=CLI_ACTOR, username="staff_demo", active=False)
    page = client.get(quick_ranking.QUICK_PATH)
    assert 'name="password"' in page.text and 'id="board"' not in page.text


def test_the_page_speaks_the_users_language(client, demo_db):
    db.run(users.set_language, actor=actor_of(demo_db, "staff_demo"), language="en")
    sign_in(client, "staff_demo")
    page = client.get(quick_ranking.QUICK_PATH).text
    assert 'lang="en"' in page and "My rank" in page and "我的名次" not in page


def test_shared_teams_follow_the_board_they_were_made_from(demo_db):
    board_cache.board.clear()
    board_cache._teams.clear()
    today = clock.today()
    week = board_cache.board(1, "week", None, today)
    with Session(demo_db) as s:
        expected = leaderboard.teams_of(s, s.get(Contest, 1), week)
    assert board_cache.teams(week).equals(expected) and len(expected) > 1
    # A recomputed board (new points) gets its own teams, never the previous board's.
    moved = week.assign(points=week["points"].where(week["team_id"] != expected["team_id"].iloc[-1], 10_000))
    moved.attrs = {**week.attrs, board_cache.COMPUTED_AT: week.attrs[board_cache.COMPUTED_AT] + 1}
    assert board_cache.teams(moved)["team_id"].iloc[0] == expected["team_id"].iloc[-1]
    assert board_cache.teams(week).equals(expected)
    board_cache.board.clear()
    board_cache._teams.clear()


def test_a_robot_link_survives_signing_in_and_the_public_address_counts_as_this_origin(client, monkeypatch):
    from portal import settings

    form = client.get(quick_ranking.QUICK_PATH, params={"contest": "1"}).text
    assert '<input type="hidden" name="contest" value="1">' in form
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://pilot.bank.example")
    settings.get_settings.cache_clear()
    try:
        answer = client.post(quick_ranking.SIGNIN_PATH,
                             data={"username": "staff_demo", "password": PASSWORD, "contest": "1"},
                             headers={"Origin": "https://pilot.bank.example"})
    finally:
        monkeypatch.delenv("PORTAL_PUBLIC_URL")
        settings.get_settings.cache_clear()
    assert answer.status_code == 303 and answer.headers["location"] == f"{quick_ranking.QUICK_PATH}?contest=1"


def test_a_participant_added_after_the_boards_were_shared_is_ranked_afresh(client, demo_db):
    sign_in(client, "staff_demo")
    actor = actor_of(demo_db, "staff_demo")
    week, _ = board_cache.current_week(1, clock.today())
    stale = week[week["staff_id"] != actor.staff_id]  # as if cached before they joined
    me = db.run(leaderboard.my_standing, write=False, actor=actor, contest_id=1, week=stale,
                today=board_cache.board(1, "today", None, clock.today()), teams=board_cache.teams(week))
    fresh = db.run(leaderboard.my_standing, write=False, actor=actor, contest_id=1)
    assert me["participants"] == fresh["participants"] == len(week) and me["rank"] == fresh["rank"]
    assert me["team"] == fresh["team"]


def test_a_database_that_cannot_be_written_answers_503_with_a_message(client, monkeypatch):
    from portal.errors import StorageError

    def broken(session, *, token):  # noqa: ANN001, ANN202
        raise StorageError("db.err_readonly")

    monkeypatch.setattr(quick_ranking.auth, "resolve", broken)
    client.cookies.set(COOKIE_NAME, "some-token")
    page = client.get(quick_ranking.QUICK_PATH)
    assert page.status_code == 503 and 'id="board"' not in page.text and "db.err_readonly" not in page.text
