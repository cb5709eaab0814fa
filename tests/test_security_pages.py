"""The page cells of the access matrix (tests/security_matrix.py) through AppTest, on one demo
database shared by the module, plus the side paths: running a page script directly, session
state and query parameters naming a pilot out of scope, and the leaderboard cache shared by
all viewers.

"own" users are the demo's (their scope holds the main pilot); "other" users have the same
role but no scope over it: a second HQ user, a coach and a branch lead of the validating
pilot's branch, a staff member of that branch. A hidden cell must render without error and
show none of the main pilot's data (its name, contest, branch and ranked people)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from models.contests import Contest
from models.org import Branch, Role, User
from models.pilot import Pilot, PilotCoach
from portal import access, db, leaderboard, navigation, org, users
from portal.access import CLI_ACTOR
from portal.i18n import translate
from tests.apptest import TIMEOUT, each_view, goto, open_as, rendered_strings
from tests.conftest import _reset_caches
from tests.security_matrix import DENY, HIDE, ROLES, SIDES, rows

OWN = {"hq": "hq_wang", "coach": "coach_li", "branch_lead": "lead_qinghe", "staff": "staff_demo"}
OTHER = {"hq": "hq_other", "coach": "coach_other", "branch_lead": "lead_other", "staff": "staff_other"}
PASSWORD = "Other#Branch2026"


def _setup(session) -> dict:
    """The other users, and what must never reach them: the main pilot's identifying data."""
    main = session.exec(select(Pilot).where(Pilot.phase == "pilot").order_by(Pilot.id)).first()
    second = session.exec(select(Pilot).where(Pilot.phase == "validating").order_by(Pilot.id)).first()
    head = session.exec(select(Branch.id).where(Branch.parent_id.is_(None))).first()
    staff = org.staff_of_branch(session, second.branch_id)[0]
    for name, role, kw in (("hq_other", Role.hq, {"branch_ids": [head]}), ("coach_other", Role.coach, {}),
                           ("lead_other", Role.branch_lead, {"branch_ids": [second.branch_id]}),
                           ("staff_other", Role.staff, {"staff_no": staff.employee_no})):
        uid = users.create_user(session, actor=CLI_ACTOR, username=name, password=PASSWORD, role=role, **kw)
        if role == Role.coach:
            session.add(PilotCoach(pilot_id=second.id, user_id=uid))
    session.flush()
    contest = session.exec(select(Contest).where(Contest.pilot_id == main.id)).first()
    board = leaderboard.board(session, contest, "contest")
    secrets = {main.name, contest.name, session.get(Branch, main.branch_id).name,
               *board.sort_values("rank")["name"].head(5)}
    return {"main": main.id, "second": second.id, "secrets": secrets}


@pytest.fixture(scope="module")
def demo(demo_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "demo.db"
    shutil.copy(demo_template, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTAL_DATABASE_URL", f"sqlite:///{path}")
        _reset_caches()
        yield db.run(_setup)
        db.get_engine().dispose()
        _reset_caches()


def everything_shown(at: AppTest) -> str:
    """Every string on screen, table cells included (dataframes travel as Arrow bytes)."""
    parts = rendered_strings(at)
    for frame in (*at.dataframe, *at.table):
        value = frame.value
        parts += [str(c) for c in value.columns] + [str(v) for v in value.astype(str).to_numpy().ravel()]
    return "\n".join(parts)


def shown_anywhere(at: AppTest) -> str:
    """everything_shown with every tab and expander of the page opened in turn."""
    return "\n".join(everything_shown(view) for view in each_view(at))


def listed(at: AppTest) -> set[str]:
    return {Path(str(info["script_path"])).stem for info in at._registered_pages.values() if info.get("script_path")}


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("role", ROLES)
def test_page_cells(demo, role, side):
    """Each page × role × side once: listed and rendering (and for "other" users showing none of
    the main pilot's data), or not listed and refused by switch_page."""
    at = open_as((OWN if side == "own" else OTHER)[role])
    assert not at.exception, at.exception
    problems = []
    allowed = {r.key for r in rows("page") if r.expect(role, side) != DENY}
    if listed(at) != allowed:
        problems.append(f"navigation lists {sorted(listed(at))}, matrix allows {sorted(allowed)}")
    for row in rows("page"):
        expected = row.expect(role, side)
        assert navigation.allowed(role, row.key) == (expected != DENY), row.key
        if expected == DENY:
            with pytest.raises(ValueError):
                goto(at, row.key)
            continue
        goto(at, row.key)
        if at.exception or at.error:
            problems.append(f"{row.key}: {[e.value for e in at.exception] or [e.value for e in at.error]}")
            continue
        if [t.value for t in at.title][:1] != [translate("zh", f"nav.{row.key}")]:
            problems.append(f"{row.key}: title {[t.value for t in at.title][:1]}")
        if expected == HIDE:
            shown = shown_anywhere(at)
            leaked = sorted(s for s in demo["secrets"] if s and s in shown)
            if leaked:
                problems.append(f"{row.key}: shows {leaked}")
    assert not problems, problems


DENIED = [(r.key, role) for r in rows("page") for role in ROLES if r.expect(role, "own") == DENY]


@pytest.mark.parametrize(("key", "role"), DENIED)
def test_running_a_forbidden_page_script_directly_is_refused(demo, key, role):
    """Even without the navigation (a stale link, a crafted session), the page's own guard
    refuses the role before any service is called."""
    actor = db.run(lambda session: access.load_actor(session, session.exec(
        select(User.id).where(User.username == OWN[role])).one()), write=False)
    at = AppTest.from_file(str(navigation.spec(key).path), default_timeout=TIMEOUT)
    at.session_state["_actor"] = actor
    at.run()
    assert not at.exception
    assert at.error and "权限" in at.error[0].value
    assert not at.title and not at.dataframe and not at.button


@pytest.mark.parametrize("username", ["lead_other", "coach_other"])
def test_session_state_and_query_params_cannot_pick_a_pilot_out_of_scope(demo, username):
    at = open_as(username)
    at.session_state["pilot_id"] = demo["main"]
    at.query_params["pilot_id"] = str(demo["main"])
    at.query_params["pilot"] = str(demo["main"])
    goto(at, "pilot_overview")
    assert not at.exception and not at.error
    assert at.selectbox[0].value == demo["second"]
    assert not [s for s in demo["secrets"] if s in shown_anywhere(at)]
    for key in ("daily_report", "checklist", "budget", "contests", "contest_tv"):
        goto(at, key)
        assert not at.exception
        assert not [s for s in demo["secrets"] if s in shown_anywhere(at)], key


def test_no_page_reads_query_parameters():
    """Pilots, contests and dates come from scoped select boxes only, never from the URL."""
    root = Path(navigation.PAGES_DIR)
    sources = [p.read_text(encoding="utf-8") for p in (*root.glob("*.py"), root.parent / "portal" / "app.py")]
    assert not [s for s in sources if "query_params" in s]


def test_shared_leaderboard_cache_never_reaches_another_branch(demo):
    """The board cache holds the unfiltered ranking of a contest for 30 s. Warm it as the
    coach, then every viewer without the contest in scope must still get nothing of it."""
    at = open_as("coach_li")
    warm = ""
    for key in ("contests", "contest_tv", "pilot_overview"):
        goto(at, key)
        assert not at.exception
        warm += shown_anywhere(at)
    assert [s for s in demo["secrets"] if s in warm], "the cache was not warmed with the main contest"
    for username, keys in (("lead_other", ("contest_tv", "contests", "pilot_overview")),
                           ("coach_other", ("contest_tv", "contests", "pilot_overview")),
                           ("staff_other", ("my_ranking",))):
        other = open_as(username)
        for key in keys:
            goto(other, key)
            assert not other.exception
            leaked = [s for s in demo["secrets"] if s in shown_anywhere(other)]
            assert not leaked, (username, key, leaked)
    staff = open_as("staff_other")
    goto(staff, "my_ranking")
    assert [i.value for i in staff.info] and not staff.dataframe
