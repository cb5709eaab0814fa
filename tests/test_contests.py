"""Contest rules → ledger, manual awards and approvals, leaderboards, visibility."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from models.contests import Contest, PointEntry
from models.reports import DailyEntry, DailyReport
from portal import clock, contests, db, leaderboard, points, report_events
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from tests import factories

START = date(2026, 11, 2)  # a Monday
TODAY = date(2026, 11, 18)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: TODAY)


def put_report(engine, pilot_id: int, day: date, values: dict[int, dict[str, int]]) -> None:
    """Write (or overwrite) a daily report the way the report service does, then raise the event."""
    def write(session):
        report = session.exec(select(DailyReport).where(DailyReport.pilot_id == pilot_id,
                                                        DailyReport.report_date == day)).first()
        now = clock.now_utc()
        if report is None:
            report = DailyReport(pilot_id=pilot_id, report_date=day, created_at=now, updated_at=now)
            session.add(report)
            session.flush()
        for entry in session.exec(select(DailyEntry).where(DailyEntry.report_id == report.id)).all():
            session.delete(entry)
        session.flush()
        for staff_id, metrics in values.items():
            for metric, value in metrics.items():
                session.add(DailyEntry(report_id=report.id, staff_id=staff_id, metric=metric, value=value))
        session.flush()
        report_events.report_saved(session, report.id)
    db.run(write, engine=engine)


@pytest.fixture
def world(engine):
    ids = factories.org(engine)
    a, b = ids["subs"]
    coach = factories.user(engine, "coach")
    other_coach = factories.user(engine, "coach")
    hq = factories.user(engine, "hq", branch_ids=[ids["head"]])
    hq2 = factories.user(engine, "hq", branch_ids=[ids["head"]])
    pa = factories.pilot(engine, a, coaches=[coach], start=START)
    pb = factories.pilot(engine, b, coaches=[other_coach], start=START)
    cid = db.run(contests.create_contest, engine=engine, actor=coach, name="PK", pilot_id=pa,
                 start_date=START, end_date=START + timedelta(days=27))
    staff_a = ids["staff"]["A"]
    return {"ids": ids, "coach": coach, "other_coach": other_coach, "hq": hq, "hq2": hq2, "pa": pa, "pb": pb,
            "cid": cid, "staff": staff_a,
            "member": factories.user(engine, "staff", staff_no="A00"),
            "outsider": factories.user(engine, "staff", staff_no="B00")}


def ledger_totals(engine, contest_id) -> dict[int, int]:
    with Session(engine) as s:
        rows = s.exec(select(PointEntry.staff_id, func.sum(PointEntry.points_c))
                      .where(PointEntry.contest_id == contest_id).group_by(PointEntry.staff_id)).all()
    return {sid: int(total) for sid, total in rows if total}


def test_rules_caps_and_money_units(engine, world):
    s1, s2, s3 = world["staff"][:3]
    put_report(engine, world["pa"], START, {
        s1: {"valid_adds": 80, "wecom_adds": 90},         # valid adds only, capped at 50 pts/day
        s2: {"aum_increase": 2_599_999_00, "new_accounts": 1},  # ¥2,599,999 → 259 units × 5 = 1295 → person cap 200
        s3: {"camp_checkins": 3, "card_bindings": 2},     # 1.5 + 6 points
    })
    assert ledger_totals(engine, world["cid"]) == {s1: 5000, s2: 20000, s3: 750}
    with Session(engine) as s:
        rows = s.exec(select(PointEntry).where(PointEntry.staff_id == s2)).all()
    # Allocated in rule order: new account (10) first is not first — rules keep the template order.
    assert sum(r.points_c for r in rows) == 20000


def test_report_edit_appends_reversal_and_never_updates(engine, world):
    s1 = world["staff"][0]
    put_report(engine, world["pa"], START, {s1: {"valid_adds": 10}})
    with Session(engine) as s:
        first = s.exec(select(PointEntry)).all()
    put_report(engine, world["pa"], START, {s1: {"valid_adds": 4}})
    put_report(engine, world["pa"], START, {s1: {"valid_adds": 4}})  # unchanged: nothing appended
    with Session(engine) as s:
        rows = s.exec(select(PointEntry).order_by(PointEntry.id)).all()
    assert [(r.source, r.points_c) for r in rows] == [("report", 1000), ("correction", -1000), ("report", 400)]
    assert rows[0].model_dump() == first[0].model_dump()
    assert ledger_totals(engine, world["cid"]) == {s1: 400}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(0, 120), st.integers(0, 30)),
                min_size=1, max_size=12))
def test_ledger_always_equals_rules_applied_to_current_reports(engine, world, edits):
    with Session(engine) as s:
        s.exec(PointEntry.__table__.delete())  # fresh ledger per example (the fixture is shared)
        s.exec(DailyEntry.__table__.delete())
        s.exec(DailyReport.__table__.delete())
        s.commit()
    current: dict[date, dict[int, dict[str, int]]] = {}
    staff = world["staff"][:3]
    for who, day_offset, adds, reactivated in edits:
        day = START + timedelta(days=day_offset)
        current.setdefault(day, {})[staff[who]] = {"valid_adds": adds, "reactivated": reactivated}
        put_report(engine, world["pa"], day, current[day])
    expected: dict[int, int] = {}
    for values in current.values():
        for sid, m in values.items():
            pts = min(m["valid_adds"] * 100, 5000) + min(m["reactivated"] * 100, 3000)
            expected[sid] = expected.get(sid, 0) + min(pts, 20000)
    assert ledger_totals(engine, world["cid"]) == {k: v for k, v in expected.items() if v}


def test_ties_share_a_rank_and_movement_against_yesterday(engine, world):
    s1, s2, s3 = world["staff"][:3]
    put_report(engine, world["pa"], TODAY - timedelta(days=1), {s1: {"valid_adds": 5}, s2: {"valid_adds": 3}})
    put_report(engine, world["pa"], TODAY, {s2: {"valid_adds": 2}, s3: {"valid_adds": 7}})
    board = db.run(leaderboard.leaderboard, engine=engine, write=False, actor=world["coach"],
                   contest_id=world["cid"], period="week")
    by = board.set_index("staff_id")
    assert by.loc[s3, "rank"] == 1 and by.loc[s1, "rank"] == by.loc[s2, "rank"] == 2
    assert by.loc[s3, "move"] > 0 and by.loc[s1, "move"] == -1
    assert board["rank"].min() == 1 and (board["points"] >= 0).all()


def test_manual_awards_threshold_approval_and_reversal(engine, world):
    s1 = world["staff"][0]
    small = db.run(points.request_award, engine=engine, actor=world["coach"], contest_id=world["cid"],
                   staff_id=s1, points=5, reason="通关考核")
    big = db.run(points.request_award, engine=engine, actor=world["hq"], contest_id=world["cid"],
                 staff_id=s1, points=50, reason="本周最佳话术")
    assert small["status"] == "approved" and big["status"] == "pending"
    assert ledger_totals(engine, world["cid"]) == {s1: 500}
    with pytest.raises(PermissionDenied):
        db.run(points.decide_award, engine=engine, actor=world["hq"], award_id=big["id"], approve=True)
    with pytest.raises(PermissionDenied):
        db.run(points.decide_award, engine=engine, actor=world["coach"], award_id=big["id"], approve=True)
    db.run(points.decide_award, engine=engine, actor=world["hq2"], award_id=big["id"], approve=True)
    with pytest.raises(Conflict):
        db.run(points.decide_award, engine=engine, actor=world["hq2"], award_id=big["id"], approve=True)
    assert ledger_totals(engine, world["cid"]) == {s1: 5500}
    for bad in ({"reason": ""}, {"points": -1}, {"points": "abc"}, {"points": 0}, {"staff_id": world["ids"]["staff"]["B"][0]}):
        with pytest.raises(ValidationFailed):
            db.run(points.request_award, engine=engine, actor=world["coach"], contest_id=world["cid"],
                   **{"staff_id": s1, "points": 1, "reason": "ok ok", **bad})
    with Session(engine) as s:
        manual = s.exec(select(PointEntry).where(PointEntry.source == "manual")).first()
    db.run(points.reverse_entry, engine=engine, actor=world["coach"], entry_id=manual.id, reason="录入错误")
    with pytest.raises(Conflict):
        db.run(points.reverse_entry, engine=engine, actor=world["coach"], entry_id=manual.id, reason="录入错误")
    assert ledger_totals(engine, world["cid"]) == {s1: 5000}


def test_fifty_concurrent_awards_lose_nothing(engine, world):
    s1 = world["staff"][0]

    def award(_):
        return db.run(points.request_award, engine=engine, actor=world["coach"], contest_id=world["cid"],
                      staff_id=s1, points=1.5, reason="并发测试")

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(award, range(50)))
    assert all(r["status"] == "approved" for r in results)
    assert ledger_totals(engine, world["cid"]) == {s1: 7500}


def test_visibility(engine, world):
    cid = world["cid"]
    assert db.run(contests.contest_choices, engine=engine, write=False, actor=world["member"]) == {cid: "PK"}
    assert db.run(contests.contest_choices, engine=engine, write=False, actor=world["outsider"]) == {}
    assert db.run(contests.contest_choices, engine=engine, write=False, actor=world["other_coach"]) == {}
    for actor in (world["outsider"], world["other_coach"]):
        with pytest.raises(PermissionDenied):
            db.run(leaderboard.leaderboard, engine=engine, write=False, actor=actor, contest_id=cid)
    with pytest.raises(PermissionDenied):
        db.run(points.request_award, engine=engine, actor=world["member"], contest_id=cid,
               staff_id=world["staff"][0], points=1, reason="自己加分")
    with pytest.raises(PermissionDenied):
        db.run(contests.create_contest, engine=engine, actor=world["other_coach"], name="x", pilot_id=world["pa"],
               start_date=START, end_date=START)


def test_staff_view_hides_names_beyond_top_n_and_shows_gap(engine, world):
    staff = world["staff"]
    put_report(engine, world["pa"], TODAY, {sid: {"valid_adds": 10 + i} for i, sid in enumerate(staff)})
    db.run(contests.update_contest, engine=engine, actor=world["hq"], contest_id=world["cid"], show_names_top=2)
    me = db.run(leaderboard.my_standing, engine=engine, write=False, actor=world["member"], contest_id=world["cid"])
    assert me["rank"] == len(staff) and me["points_week"] == 10 and me["gap_to_next"] == 1
    names = dict(zip(me["board"]["staff_id"], me["board"]["name"], strict=True))
    assert names[world["member"].staff_id] != "—"
    hidden = [sid for sid, name in names.items() if name == "—"]
    assert hidden and all(sid not in staff[-2:] for sid in hidden)
    assert len(me["board"]) <= 10


def test_head_to_head_pairs_are_idempotent(engine, world):
    put_report(engine, world["pa"], TODAY - timedelta(days=7), {sid: {"valid_adds": i} for i, sid in
                                                                  enumerate(world["staff"])})
    made = db.run(leaderboard.make_pairs, engine=engine, actor=world["coach"], contest_id=world["cid"])
    assert made == 3
    assert db.run(leaderboard.make_pairs, engine=engine, actor=world["coach"], contest_id=world["cid"]) == 0
    pairs = db.run(leaderboard.pairs_board, engine=engine, write=False, actor=world["coach"], contest_id=world["cid"])
    assert len(pairs) == 3 and set(pairs["leader"]) <= {"a", "b", "tie"}


def test_contest_created_mid_pilot_resyncs_from_reports(engine, world):
    s1 = world["staff"][0]
    put_report(engine, world["pa"], START + timedelta(days=1), {s1: {"valid_adds": 3}})
    cid = db.run(contests.create_contest, engine=engine, actor=world["hq"], name="第二赛", pilot_id=world["pa"],
                 start_date=START, end_date=TODAY)
    assert ledger_totals(engine, cid) == {}
    db.run(points.resync_contest, engine=engine, actor=world["hq"], contest_id=cid)
    assert ledger_totals(engine, cid) == {s1: 300}
    assert db.run(points.resync_contest, engine=engine, actor=world["hq"], contest_id=cid) == 0


def test_standings_match_raw_sql(engine, world):
    staff = world["staff"]
    put_report(engine, world["pa"], TODAY, {sid: {"valid_adds": (i * 7) % 5} for i, sid in enumerate(staff)})
    with Session(engine) as s:
        contest = s.get(Contest, world["cid"])
        df = leaderboard.standings(s, contest, START, TODAY)
        raw = pd.DataFrame(s.exec(select(PointEntry.staff_id, func.sum(PointEntry.points_c))
                                  .where(PointEntry.contest_id == contest.id).group_by(PointEntry.staff_id)).all(),
                           columns=["staff_id", "p"])
    merged = df.merge(raw, on="staff_id", how="left").fillna(0)
    assert (merged["points"] * 100 == merged["p"]).all()
    assert list(df["points"]) == sorted(df["points"], reverse=True)


def test_board_names_ties_and_roster_changes(engine, world, monkeypatch):
    """Ranks come from SQL, names from the shared roster: ties are listed by employee number,
    a participant added after a board was read appears at once with their name, and a renamed
    one shows the new name once the roster's 30 s have passed."""
    from models.contests import ContestParticipant
    from models.org import Staff
    from portal import roster_cache

    staff = world["staff"]
    with Session(engine) as s:
        s.get(Staff, staff[0]).employee_no = "A99"  # employee order differs from id order
        s.commit()
    put_report(engine, world["pa"], TODAY, {staff[4]: {"valid_adds": 3}, staff[1]: {"valid_adds": 3}})
    read = lambda: db.run(leaderboard.leaderboard, engine=engine, write=False, actor=world["coach"],  # noqa: E731
                          contest_id=world["cid"], period="week")
    board = read()
    assert list(board["employee_no"]) == ["A01", "A11", "A02", "A10", "A12", "A99"]
    assert list(board["rank"]) == [1, 1, 3, 3, 3, 3]

    clock_now = [1000.0]
    monkeypatch.setattr(roster_cache.time, "monotonic", lambda: clock_now[0])
    read()  # roster kept from here
    with Session(engine) as s:
        newcomer = Staff(branch_id=s.get(Staff, staff[0]).branch_id, employee_no="A03", name="新员工")
        s.add(newcomer)
        s.flush()
        s.add(ContestParticipant(contest_id=world["cid"], staff_id=newcomer.id))
        s.get(Staff, staff[0]).name = "改名后"
        s.commit()
        newcomer_id = newcomer.id
    board = read().set_index("staff_id")
    assert board.loc[newcomer_id, "name"] == "新员工" and board.loc[newcomer_id, "rank"] == 3
    assert board.loc[staff[0], "name"] == "改名后"  # the newcomer made the roster reload

    with Session(engine) as s:
        s.get(Staff, staff[0]).name = "再改名"
        s.commit()
    assert read().set_index("staff_id").loc[staff[0], "name"] == "改名后"  # kept for up to 30 s
    clock_now[0] += roster_cache.TTL_SECONDS + 1
    assert read().set_index("staff_id").loc[staff[0], "name"] == "再改名"
