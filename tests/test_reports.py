"""Daily report service: roles and dates, validation catalogue, idempotent upsert, optimistic
concurrency (threads, SQLite and PostgreSQL), audit, the report-saved hook, blockers → Q&A."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from models.audit import AuditLog
from models.org import Staff
from models.playbook import QaEntry
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal import clock, db, report_events, reports
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.report_validation import ReportInvalid
from tests import factories

TODAY = date(2026, 11, 18)  # a Wednesday
NOW = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen_clock():
    with clock.frozen(NOW):
        yield


def make_world(engine) -> SimpleNamespace:
    """Branch A's pilot (started two weeks ago) with its coach, another coach, HQ, the leads of
    branches A and B, and a staff user; `a` / `b` are the staff ids of the two branches."""
    ids = factories.org(engine)
    a, b = ids["subs"]
    coach, other = factories.user(engine, "coach"), factories.user(engine, "coach")
    w = SimpleNamespace(engine=engine, ids=ids, coach=coach, other=other,
                        hq=factories.user(engine, "hq", branch_ids=[ids["head"]]),
                        lead=factories.user(engine, "branch_lead", branch_ids=[a]),
                        lead_b=factories.user(engine, "branch_lead", branch_ids=[b]),
                        staff=factories.user(engine, "staff", staff_no="A00"),
                        a=ids["staff"]["A"], b=ids["staff"]["B"])
    w.pilot = factories.pilot(engine, a, coaches=[coach], start=TODAY - timedelta(days=14))  # to TODAY + 13
    return w


@pytest.fixture
def world(engine):
    return make_world(engine)


def save(w, actor=None, *, day=TODAY, version=0, **kw):
    return db.run(reports.save_report, engine=w.engine, actor=actor or w.coach, pilot_id=w.pilot, report_date=day,
                  expected_version=version, **kw)


def stored(engine, pilot_id=None) -> dict:
    """Everything the report tables hold, comparable."""
    with Session(engine) as s:
        return {
            "reports": sorted((r.report_date, r.version, r.highlights, r.blockers, r.next_steps)
                              for r in s.exec(select(DailyReport)).all()),
            "entries": sorted((e.report_id, e.staff_id, e.metric, e.value) for e in s.exec(select(DailyEntry)).all()),
            "branch": sorted((e.report_id, e.metric, e.channel, e.value) for e in s.exec(select(BranchEntry)).all()),
        }


GOOD = {"wecom_adds": "１２", "valid_adds": 11, "add_requests": "1,000", "accepted_adds": 700,
        "aum_increase": "12,345.67", "outbound_calls": " 30 ", "touches_1v1": 25.0}


def test_coach_saves_and_the_grid_reloads_the_values(world):
    s0, s1 = world.a[:2]
    result = save(world, staff_values={s0: GOOD, s1: {"wecom_adds": 3}},
                  branch_values={"staff_active": 5, "wecom_customers_total": "2,400", "nps": "-12"},
                  channel_values={"outbound_add": 10, "desk_card": 5}, highlights="进企拉群", blockers="客户不愿加",
                  next_steps="")
    assert result == {"report_id": result["report_id"], "version": 1, "changed": True}
    rep = db.run(reports.load_report, engine=world.engine, actor=world.coach, pilot_id=world.pilot, report_date=TODAY)
    row = rep["grid"].set_index("staff_id").loc[s0]
    assert (row["wecom_adds"], row["add_requests"], row["aum_increase"], row["touches_1v1"]) == (12, 1000, 12345.67, 25)
    assert len(rep["grid"]) == 6 and rep["version"] == 1 and rep["editable"]
    assert {b["code"]: b["value"] for b in rep["branch"]} == {"staff_active": 5, "wecom_customers_total": 2400,
                                                              "nps": -12}
    assert {c["code"]: c["value"] for c in rep["channels"] if c["value"] is not None} == {"outbound_add": 10,
                                                                                           "desk_card": 5}
    assert rep["texts"] == {"highlights": "进企拉群", "blockers": "客户不愿加", "next_steps": ""}
    with Session(world.engine) as s:
        assert s.exec(select(DailyEntry.value).where(DailyEntry.metric == "aum_increase")).one() == 1234567  # fen


def test_double_submit_and_retry_are_no_ops_and_edits_are_audited(world):
    s0 = world.a[0]
    first = save(world, staff_values={s0: {"wecom_adds": 5, "valid_adds": 4}})
    again = save(world, staff_values={s0: {"wecom_adds": "5", "valid_adds": "4"}})  # same content, stale version
    assert first["version"] == again["version"] == 1 and again["changed"] is False
    second = save(world, version=1, staff_values={s0: {"wecom_adds": 6, "valid_adds": 4}}, blockers="名单质量差")
    assert second == {"report_id": first["report_id"], "version": 2, "changed": True}
    with Session(world.engine) as s:
        assert s.exec(select(func.count()).select_from(DailyReport)).one() == 1
        logs = s.exec(select(AuditLog).where(AuditLog.action == "reports.save").order_by(AuditLog.id)).all()
    assert len(logs) == 2
    assert logs[1].before == {"version": 1, f"staff:{s0}:wecom_adds": 5, "text:blockers": None}
    assert logs[1].after[f"staff:{s0}:wecom_adds"] == 6 and logs[1].after["text:blockers"] == "名单质量差"
    assert logs[1].after["version"] == 2 and logs[1].actor_username == world.coach.username


def test_stale_writer_gets_conflict_and_loses_nothing_silently(world):
    s0 = world.a[0]
    save(world, staff_values={s0: {"wecom_adds": 5}})
    save(world, world.hq, version=1, staff_values={s0: {"wecom_adds": 7}})
    with pytest.raises(Conflict) as err:
        save(world, version=1, staff_values={s0: {"wecom_adds": 9}})
    assert err.value.key == "reports.err_conflict" and err.value.params["version"] == 2
    rep = db.run(reports.load_report, engine=world.engine, actor=world.coach, pilot_id=world.pilot, report_date=TODAY)
    assert rep["version"] == 2 and rep["grid"].set_index("staff_id").loc[s0, "wecom_adds"] == 7


def test_concurrent_first_saves_make_one_report_and_one_winner(world):
    s0 = world.a[0]

    def attempt(i):
        try:
            return save(world, world.coach if i % 2 else world.hq, staff_values={s0: {"wecom_adds": i + 1}})
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    winners = [r for r in results if r != "conflict"]
    assert len(winners) == 1 and results.count("conflict") == 7
    with Session(world.engine) as s:
        assert s.exec(select(func.count()).select_from(DailyReport)).one() == 1
        value = s.exec(select(DailyEntry.value)).one()
    assert value == results.index(winners[0]) + 1  # the stored numbers are the winner's


def test_concurrent_identical_submits_all_succeed_once(world):
    s0 = world.a[0]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: save(world, staff_values={s0: {"wecom_adds": 4}}), range(6)))
    assert sum(r["changed"] for r in results) == 1 and {r["version"] for r in results} == {1}
    with Session(world.engine) as s:
        assert s.exec(select(func.count()).select_from(DailyReport)).one() == 1


@pytest.mark.parametrize(("cell", "key"), [
    (-1, "num.err_negative"), ("-3", "num.err_negative"), (float("nan"), "num.err_not_finite"),
    (float("inf"), "num.err_not_finite"), ("abc", "num.err_not_number"), ("1.5", "num.err_not_integer"),
    ("1,23", "num.err_not_number"), (501, "num.err_too_large"), ("五", "num.err_not_number"), (True, "num.err_not_number"),
])
def test_bad_count_cells_are_refused_naming_row_and_metric(world, cell, key):
    with pytest.raises(ValidationFailed) as err:
        save(world, staff_values={world.a[0]: {"wecom_adds": cell}})
    assert err.value.key == key
    assert err.value.params["field"] == "员工A00 · 企微添加数"
    assert stored(world.engine)["reports"] == []


@pytest.mark.parametrize(("code", "cell", "expected"), [
    ("outbound_calls", "１，０００", 1000), ("outbound_calls", " 7 ", 7), ("outbound_calls", 7.0, 7),
    ("aum_increase", "¥1,000.5", 100050), ("aum_increase", 0.1, 10), ("product_sales", "100元", 10000),
])
def test_unambiguous_cells_are_accepted(world, code, cell, expected):
    save(world, staff_values={world.a[0]: {code: cell}})
    with Session(world.engine) as s:
        assert s.exec(select(DailyEntry.value).where(DailyEntry.metric == code)).one() == expected


@pytest.mark.parametrize(("kw", "key"), [
    ({"staff_values": {0: {"aum_increase": "1.234"}}}, "num.err_money_decimals"),
    ({"staff_values": {0: {"aum_increase": 100_000_001}}}, "num.err_too_large"),
    ({"staff_values": {0: {"wecom_adds": 3, "valid_adds": 4}}}, "reports.err_le"),
    ({"staff_values": {0: {"valid_adds": 1}}}, "reports.err_le"),
    ({"staff_values": {0: {"add_requests": 5, "accepted_adds": 6}}}, "reports.err_le"),
    ({"staff_values": {0: {"wecom_adds": 3}}, "channel_values": {"desk_card": 2}}, "reports.err_channel_sum"),
    ({"channel_values": {"desk_card": 2}}, "reports.err_channel_sum"),
    ({"channel_values": {"tiktok": 2}}, "reports.err_channel_unknown"),
    ({"branch_values": {"staff_active": 7}}, "reports.err_staff_count"),
    ({"branch_values": {"nps": 101}}, "reports.err_range"),
    ({"branch_values": {"nps": "-101"}}, "reports.err_range"),
    ({"branch_values": {"nps": 7.5}}, "num.err_not_integer"),
    ({"staff_values": {0: {"no_such_metric": 1}}}, "reports.err_metric_unknown"),
    ({"highlights": "好" * 2001}, "reports.err_text_long"),
    ({}, "reports.err_empty"),
    ({"blockers": " \x00 "}, "text.err_control"),
])
def test_rule_catalogue(world, kw, key):
    kw = {k: ({world.a[0]: v[0]} if k == "staff_values" else v) for k, v in kw.items()}
    with pytest.raises(ValidationFailed) as err:
        save(world, **kw)
    assert err.value.key == key
    assert stored(world.engine)["reports"] == []


def test_problems_are_all_collected_and_name_the_row(world):
    s0, s1 = world.a[:2]
    with pytest.raises(ReportInvalid) as err:
        save(world, staff_values={s0: {"wecom_adds": -1, "valid_adds": 3}, s1: {"add_requests": 2, "accepted_adds": 3}})
    problems = {(p.staff_id, p.key) for p in err.value.problems}
    assert problems == {(s0, "num.err_negative"), (s1, "reports.err_le")}  # no echo of the refused cell
    assert "员工A01 · 添加通过数" in err.value.problems[1].message("zh")


def test_staff_of_another_branch_or_inactive_staff_are_refused(world):
    with pytest.raises(ValidationFailed) as err:
        save(world, staff_values={world.b[0]: {"wecom_adds": 1}})
    assert err.value.key == "reports.err_staff_unknown"
    with Session(world.engine) as s:
        person = s.get(Staff, world.a[5])
        person.active = False
        s.add(person)
        s.commit()
    with pytest.raises(ValidationFailed):
        save(world, staff_values={world.a[5]: {"wecom_adds": 1}})


def test_dates_and_roles(world):
    start = TODAY - timedelta(days=14)
    cases = [(world.coach, TODAY + timedelta(days=1), "reports.err_future"),
             (world.hq, TODAY + timedelta(days=1), "reports.err_future"),
             (world.hq, start - timedelta(days=1), "reports.err_outside_window"),
             (world.coach, TODAY - timedelta(days=8), "reports.err_too_old")]
    for actor, day, key in cases:
        with pytest.raises(ValidationFailed) as err:
            save(world, actor, day=day, highlights="x")
        assert err.value.key == key, (actor.role, day)
    assert save(world, day=TODAY - timedelta(days=7), highlights="x")["version"] == 1  # coach: 7 days back
    assert save(world, world.hq, day=start, highlights="补录")["version"] == 1  # HQ back-fills the window
    for actor in (world.lead, world.staff, world.other, world.lead_b):
        with pytest.raises(PermissionDenied):
            save(world, actor, highlights="x")
    view = db.run(reports.load_report, engine=world.engine, actor=world.lead, pilot_id=world.pilot, report_date=start)
    assert view["texts"]["highlights"] == "补录" and not view["editable"] and view["lock"][0] == "reports.read_only"
    old = db.run(reports.load_report, engine=world.engine, actor=world.coach, pilot_id=world.pilot, report_date=start)
    assert not old["editable"] and old["lock"][0] == "reports.err_too_old"
    for actor in (world.staff, world.lead_b, world.other):
        with pytest.raises(PermissionDenied):
            db.run(reports.load_report, engine=world.engine, actor=actor, pilot_id=world.pilot, report_date=TODAY)


def test_report_saved_hook_runs_in_the_same_transaction(world, monkeypatch):
    calls = []

    def handler(session, report_id):
        calls.append(session.get(DailyReport, report_id).version)
        if len(calls) == 3:
            raise RuntimeError("ledger failed")

    monkeypatch.setattr(report_events, "_after_save", [handler])
    s0 = world.a[0]
    save(world, staff_values={s0: {"wecom_adds": 1}})
    save(world, staff_values={s0: {"wecom_adds": 1}})  # no-op: no event
    save(world, version=1, staff_values={s0: {"wecom_adds": 2}})
    assert calls == [1, 2]
    with pytest.raises(RuntimeError):
        save(world, version=2, staff_values={s0: {"wecom_adds": 3}})
    rep = db.run(reports.load_report, engine=world.engine, actor=world.coach, pilot_id=world.pilot, report_date=TODAY)
    assert rep["version"] == 2 and rep["grid"].set_index("staff_id").loc[s0, "wecom_adds"] == 2  # rolled back


def test_check_report_gives_live_totals_rates_and_problems(world):
    s0, s1 = world.a[:2]
    live = db.run(reports.check_report, engine=world.engine, write=False, actor=world.lead, pilot_id=world.pilot,
                  report_date=TODAY, staff_values={s0: {"add_requests": 10, "accepted_adds": 7},
                                                   s1: {"add_requests": 10, "accepted_adds": 11}},
                  branch_values={"staff_active": 3})
    assert live["totals"]["add_requests"] == 20 and live["totals"]["accepted_adds"] == 18
    assert live["rates"]["pass_rate"] == pytest.approx(18 / 20) and live["rates"]["usage_rate"] == pytest.approx(3 / 6)
    assert [p["row"] for p in live["problems"]] == ["员工A01"]
    assert stored(world.engine)["reports"] == []


def test_blocker_becomes_a_qa_draft_linked_to_pilot_and_date(world):
    with pytest.raises(ValidationFailed):
        db.run(reports.blocker_draft, engine=world.engine, actor=world.coach, pilot_id=world.pilot,
               report_date=TODAY, category="unwilling")
    save(world, blockers="客户担心被推销，\n不愿添加企业微信。" + "很" * 600)
    entry_id = db.run(reports.blocker_draft, engine=world.engine, actor=world.coach, pilot_id=world.pilot,
                      report_date=TODAY, category="unwilling")
    with Session(world.engine) as s:
        entry = s.get(QaEntry, entry_id)
    assert entry.status == "draft" and entry.source_pilot_id == world.pilot and entry.source_date == TODAY
    assert entry.question_zh.startswith("客户担心被推销， 不愿添加") and len(entry.question_zh) == 500
    with pytest.raises(PermissionDenied):
        db.run(reports.blocker_draft, engine=world.engine, actor=world.lead, pilot_id=world.pilot,
               report_date=TODAY, category="unwilling")


CELLS = st.one_of(
    st.integers(min_value=-5, max_value=1200), st.none(),
    st.floats(width=32), st.sampled_from([float("nan"), float("inf"), 12.0, 0.5]),
    st.sampled_from(["abc", "１２", "1,000", "1,23", "", "  ", "1.5", "-0", "７,５００", "¥5", "1e3", "=1+1"]),
)
METRICS = ["wecom_adds", "valid_adds", "add_requests", "accepted_adds", "aum_increase"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({}, optional={m: CELLS for m in METRICS}), min_size=1, max_size=3),
       nps=CELLS, channel=CELLS)
def test_rejected_input_changes_no_row(world, rows, nps, channel):
    if not stored(world.engine)["reports"]:
        save(world, staff_values={world.a[0]: {"wecom_adds": 5, "valid_adds": 5}},
             branch_values={"nps": 50}, highlights="基线")
    before = stored(world.engine)
    version = db.run(reports.load_report, engine=world.engine, actor=world.coach, pilot_id=world.pilot,
                     report_date=TODAY)["version"]
    values = dict(zip(world.a, rows, strict=False))
    try:
        save(world, version=version, staff_values=values, branch_values={"nps": nps},
             channel_values={"desk_card": channel})
    except ValidationFailed:
        assert stored(world.engine) == before
        return
    cells = [(m, c) for row in rows for m, c in row.items()] + [("nps", nps), ("desk_card", channel)]
    assert not [(m, c) for m, c in cells if must_refuse(m, c)]  # accepted input was acceptable
    assert not any(_int(r.get("valid_adds")) > _int(r.get("wecom_adds")) for r in rows)


def _int(cell) -> int:
    return int(float(cell)) if isinstance(cell, int | float) and cell == cell and abs(cell) != float("inf") else 0


def must_refuse(metric: str, cell) -> bool:
    """Independent of the parser: cells no reading makes acceptable."""
    if isinstance(cell, str):
        text = cell.strip()
        return (text in ("abc", "1,23", "1e3", "=1+1") or (text == "1.5" and metric != "aum_increase")
                or (text == "-0" and metric != "nps"))
    if isinstance(cell, float) and (cell != cell or abs(cell) == float("inf")):
        return True
    if isinstance(cell, int | float) and metric != "nps" and cell < 0:
        return True
    return isinstance(cell, float) and metric not in ("aum_increase",) and cell != int(cell)
