"""The weekly review workbook: week parsing, scope and audit, hand-computed numbers of a
fixture week on SQLite and PostgreSQL, text that looks like a formula, the empty week and the
command line's refusals."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select, update

from exports import weekly as export
from models.audit import AuditLog
from models.contests import Contest
from models.pilot import Pilot
from models.reports import DailyReport
from portal import (
    budget_lines,
    clock,
    contests,
    db,
    kpis,
    leaderboard,
    maturity,
    qa,
    targets,
    weekly,
)
from portal.cli import main
from portal.errors import PermissionDenied, ValidationFailed
from tests import factories
from tests.test_contests import put_report as write_report

START = date(2026, 11, 2)  # Monday of 2026-W45; the pilot runs to 2026-11-29
WEEK = "2026-W46"  # 11-09 … 11-15: pilot week 2
MON, SUN = date(2026, 11, 9), date(2026, 11, 15)
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday of 2026-W47, noon in Shanghai
SHEETS_ZH = ["汇总", "日报明细", "周趋势", "PK排名", "SOP事项", "预算", "成熟度", "卡点与问答"]
SHEETS_EN = ["Summary", "Daily", "Trend", "PK ranking", "SOP", "Budget", "Stages", "Blockers & Q&A"]
FORMULA_LIKE = ['=HYPERLINK("http://x.example","点我")', "+1 加急", "@x", "-2", "\t缩进"]


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)


def put_report(engine, pilot_id: int, day: date, values: dict[int, dict[str, int]], *, blockers: str = "",
               next_steps: str = "") -> None:
    """The contest tests' report writer (entries, then the report event), plus the texts as
    stored — legacy or imported text may start with anything, a tab included."""
    write_report(engine, pilot_id, day, values)
    db.run(lambda session: session.exec(update(DailyReport).where(
        DailyReport.pilot_id == pilot_id, DailyReport.report_date == day).values(blockers=blockers,
                                                                                 next_steps=next_steps)),
           engine=engine)


@pytest.fixture
def world(engine):
    """Pilot A (青禾, coach) and pilot B (白沙, other coach) from 11-02. Pilot A's reports:
    W45 Mon a0 5 / a1 8 valid adds; W46 Mon a0 10 + a1 4, Tue a0 6, Wed a0 ¥1,234.56 sales
    (Thu, Fri missing); W47 Mon a0 100 (outside the week). Valid-add target 70 a week."""
    ids = factories.org(engine)
    a, b = ids["subs"]
    hq = factories.user(engine, "hq", branch_ids=[ids["head"]])
    coach = factories.user(engine, "coach")
    other_coach = factories.user(engine, "coach")
    lead_b = factories.user(engine, "branch_lead", branch_ids=[b])
    with clock.frozen(at(START - timedelta(days=7))):
        pa = factories.pilot(engine, a, coaches=[coach], start=START, name="青禾代发试点")
        pb = factories.pilot(engine, b, coaches=[other_coach], start=START, name="白沙老年试点")
        for week in range(1, 5):
            db.run(targets.set_target, engine=engine, actor=hq, pilot_id=pa, metric="valid_adds", week=week,
                   value="70")
        cid = db.run(contests.create_contest, engine=engine, actor=coach, name="青禾PK赛", pilot_id=pa,
                     start_date=START, end_date=START + timedelta(days=27))
    a0, a1 = ids["staff"]["A"][:2]
    b0 = ids["staff"]["B"][0]
    put_report(engine, pa, START, {a0: {"valid_adds": 5, "wecom_adds": 6}, a1: {"valid_adds": 8}})
    put_report(engine, pa, MON, {a0: {"valid_adds": 10, "wecom_adds": 12}, a1: {"valid_adds": 4, "wecom_adds": 5}},
               blockers=FORMULA_LIKE[0], next_steps=FORMULA_LIKE[2])
    put_report(engine, pa, MON + timedelta(days=1), {a0: {"valid_adds": 6, "wecom_adds": 6}},
               blockers=FORMULA_LIKE[1], next_steps=FORMULA_LIKE[3])
    put_report(engine, pa, MON + timedelta(days=2), {a0: {"product_sales": 123456}}, blockers=FORMULA_LIKE[4])
    put_report(engine, pa, MON + timedelta(days=7), {a0: {"valid_adds": 100}}, blockers="下周的卡点")
    put_report(engine, pb, MON + timedelta(days=1), {b0: {"valid_adds": 7}}, blockers="白沙的卡点")
    with clock.frozen(at(START + timedelta(days=1))):
        db.run(budget_lines.add_line, engine=engine, actor=coach, pilot_id=pa, category="materials",
               description="开营物料", status="planned", planned="1000")
        db.run(maturity.confirm, engine=engine, actor=hq, branch_id=a, stage=1, on=START + timedelta(days=1))
    with clock.frozen(at(MON + timedelta(days=1))):
        db.run(budget_lines.add_line, engine=engine, actor=coach, pilot_id=pa, category="training",
               description="=讲师课酬", status="committed", actual="2,345.67", vendor="@培训公司")
        db.run(maturity.confirm, engine=engine, actor=hq, branch_id=a, stage=2, note="驻点后已日常使用企微",
               on=MON + timedelta(days=1))
        db.run(qa.create_entry, engine=engine, actor=coach, category="operations", question_zh="=1+1 客户怎么加？",
               answer_zh="-先发欢迎语", source_pilot_id=pa, source_date=MON)
    return {"ids": ids, "hq": hq, "coach": coach, "other_coach": other_coach, "lead_b": lead_b, "pa": pa,
            "pb": pb, "cid": cid, "a0": a0, "a1": a1, "b0": b0}


def workbook(engine, actor, **kw):
    content = weekly.build(actor=actor, engine=engine, **kw)
    return load_workbook(io.BytesIO(content))


def rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def find(ws, *prefix) -> list[tuple]:
    return [r for r in rows(ws) if r[:len(prefix)] == prefix]


# ------------------------------------------------------------------ weeks


def test_weeks_are_parsed_strictly():
    assert weekly.parse_week("2026-W46") == (MON, SUN)
    assert weekly.parse_week("2026-W53", today=date(2030, 1, 1)) == (date(2026, 12, 28), date(2027, 1, 3))
    for bad in ("2026-W60", "abc", "2026-W00", "2025-W53", "2026-w46", "2026-W7", "2026-W46x", "", None, "2026W46"):
        with pytest.raises(ValidationFailed) as err:
            weekly.parse_week(bad, today=date(2030, 1, 1))
        assert err.value.key == "weekly.err_week"
    with pytest.raises(ValidationFailed) as err:
        weekly.parse_week("2026-W48")  # next week, today being 2026-11-20
    assert err.value.key == "weekly.err_future"
    assert weekly.last_complete_week() == "2026-W46"
    for today in (date(2026, 11, 16), date(2026, 11, 22)):  # Monday and Sunday of W47
        assert weekly.last_complete_week(today) == "2026-W46"
    assert weekly.week_choices(3) == ["2026-W47", "2026-W46", "2026-W45", "2026-W44"]


# ------------------------------------------------------------------ the fixture week, by hand


def test_workbook_has_the_eight_sheets_and_the_hand_computed_numbers(engine, world):
    wb = workbook(engine, world["hq"], week=WEEK)
    assert wb.sheetnames == SHEETS_ZH

    summary = wb["汇总"]
    assert summary.freeze_panes == "B3" and summary.auto_filter.ref == "A2:P4"
    (row,) = find(summary, "青禾代发试点")
    # pilot day 14 of 28 on Sunday; 20 valid adds this week against 70; to date 33 against 140
    assert row[5] == "14/28"
    assert row[6:9] == (20, 70, pytest.approx(0.2857))
    assert row[9] == pytest.approx(0.2857) and row[10] == pytest.approx(0.2357)
    assert row[15] == 2  # Thursday and Friday without a report
    assert find(summary, "白沙老年试点")[0][6] == 7
    assert len(summary._charts) == 1 and len(wb["周趋势"]._charts) == 1
    assert {str(cf.sqref) for cf in summary.conditional_formatting} == {"I3:I4", "J3:J4", "K3:K4"}
    assert summary["G3"].number_format == "#,##0" and summary["M3"].number_format == "0.0%"

    daily = wb["日报明细"]
    a0 = find(daily, "青禾代发试点", "A00")
    valid = next(r for r in a0 if r[4] == "有效添加数")
    assert valid[6:14] == (10, 6, None, None, None, None, None, 16)
    sales = next(r for r in a0 if r[4] == "产品销售额")
    assert sales[8] == pytest.approx(1234.56) and sales[13] == pytest.approx(1234.56)
    total = next(r for r in find(daily, "青禾代发试点", None, "（全员合计）") if r[4] == "有效添加数")
    assert total[6:14] == (14, 6, None, None, None, None, None, 20)
    sales_row = [r[4] for r in rows(daily)].index("产品销售额") + 1
    assert "¥" in daily.cell(sales_row, 9).number_format and daily.cell(sales_row, 6).data_type == "s"
    assert all(r[13] != 100 for r in rows(daily)[2:])  # next week's report stays out

    trend = wb["周趋势"]
    weeks = [(r[1], r[6], r[7]) for r in find(trend, "青禾代发试点") if r[4] == "有效添加数"]
    assert weeks == [(1, 70, 13), (2, 70, 20)]

    ranking = wb["PK排名"]
    people = {r[5]: r[2:5] + (r[8],) for r in find(ranking, "青禾PK赛")[:2]}
    assert people == {"A00": (1, 2, 1, 16), "A01": (2, 1, -1, 4)}
    team = next(r for r in rows(ranking) if r[0] == "青禾PK赛" and r[5] == "青禾县支行0号网点")
    assert team[2:4] == (1, 1) and team[6:9] == (3, 20, pytest.approx(6.67))
    assert ranking["E3"].number_format.startswith('"▲"')

    budget = wb["预算"]
    (pilot_row,) = find(budget, "青禾代发试点", "青禾县支行")
    assert pilot_row[5] == pytest.approx(2345.67) and pilot_row[7] == pytest.approx(97654.33)
    assert pilot_row[11] == 1  # one line changed this week (the materials line was added in W45)
    training = find(budget, "培训")[0]
    assert training[3] == pytest.approx(2345.67) and training[7] == pytest.approx(1.0)
    (line,) = find(budget, "青禾代发试点", "培训")
    assert line[2] == "=讲师课酬" and line[9] == "新增"

    stages = wb["成熟度"]
    (branch,) = find(stages, "青禾县支行")
    assert branch[2] == "工具应用期" and branch[8] == "由思维转变期调整为工具应用期"
    assert find(stages, "白沙县支行")[0][2] == "尚未评定"

    notes = wb["卡点与问答"]
    blockers = [r[2] for r in rows(notes) if r[0] == "青禾代发试点" and r[2] in FORMULA_LIKE]
    assert blockers == [FORMULA_LIKE[0], FORMULA_LIKE[1], FORMULA_LIKE[4]]
    assert "下周的卡点" not in [r[2] for r in rows(notes)]
    assert any(r[3] == "=1+1 客户怎么加？" for r in rows(notes))


def test_to_date_numbers_agree_with_the_kpi_service(engine, world):
    data = db.run(weekly.gather, engine=engine, write=False, actor=world["hq"], week=WEEK)
    mine = data["kpis"][(data["kpis"]["pilot_id"] == world["pa"]) & (data["kpis"]["scope"] == "to_date")]
    with Session(engine) as s:
        expected = kpis.progress(s, s.get(Pilot, world["pa"]), SUN)
    assert mine[["metric", "target", "actual", "ratio", "light"]].to_dict("records") == \
        expected[["metric", "target", "actual", "ratio", "light"]].to_dict("records")


def test_bulk_boards_match_the_leaderboard_service(engine, world):
    data = db.run(weekly.gather, engine=engine, write=False, actor=world["hq"], week=WEEK)
    with Session(engine) as s:
        contest = s.get(Contest, world["cid"])
        now = leaderboard.standings(s, contest, MON, SUN)
        teams = leaderboard.teams_of(s, contest, now)
    people, groups = data["ranking"]["individual"], data["ranking"]["teams"]
    columns = ["rank", "employee_no", "name", "points"]
    assert people[columns].values.tolist() == now[columns].values.tolist()
    columns = ["rank", "team", "members", "points", "per_member"]
    assert groups[columns].values.tolist() == teams[columns].values.tolist()


def test_formula_looking_text_is_stored_as_text(engine, world):
    wb = workbook(engine, world["hq"], week=WEEK)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and c.value[:1] in "=+-@\t" and not c.value.startswith("=SUBTOTAL(")]
    values = {c.value for c in cells}
    assert set(FORMULA_LIKE) <= values and {"=讲师课酬", "@培训公司", "=1+1 客户怎么加？", "-先发欢迎语"} <= values
    assert all(c.data_type == "s" for c in cells)
    subtotal = wb["汇总"]["G5"]
    assert subtotal.data_type == "f" and subtotal.value == "=SUBTOTAL(109,G3:G4)"


def test_english_workbook(engine, world):
    wb = workbook(engine, world["hq"], week=WEEK, lang="en", pilot_ids=[world["pa"]])
    assert wb.sheetnames == SHEETS_EN
    assert wb["Summary"]["A2"].value == "Pilot" and wb["Summary"]["A3"].value == "青禾代发试点"


# ------------------------------------------------------------------ scope and audit


def test_a_coach_exports_only_their_pilots(engine, world):
    wb = workbook(engine, world["coach"], week=WEEK)
    texts = {v for ws in wb.worksheets for r in rows(ws) for v in r if isinstance(v, str)}
    assert "青禾代发试点" in texts and "白沙老年试点" not in texts and "白沙的卡点" not in texts
    with pytest.raises(PermissionDenied):
        weekly.build(actor=world["coach"], engine=engine, week=WEEK, pilot_ids=[world["pa"], world["pb"]])


def test_scope_refusals_are_audited_and_staff_are_refused(engine, world):
    with pytest.raises(PermissionDenied):
        weekly.build(actor=world["lead_b"], engine=engine, week=WEEK, pilot_ids=[world["pa"]])
    wb = workbook(engine, world["lead_b"], week=WEEK)  # their own branch only
    assert [r[0] for r in rows(wb["汇总"])[2:-1]] == ["白沙老年试点"]
    member = factories.user(engine, "staff", staff_no="A00")
    with pytest.raises(PermissionDenied):
        weekly.build(actor=member, engine=engine, week=WEEK)
    with Session(engine) as s:
        denied = s.exec(select(AuditLog).where(AuditLog.action == "weekly.export",
                                               AuditLog.outcome == "denied")).all()
    assert {d.actor_username for d in denied} == {world["lead_b"].username, member.username}


def test_the_export_is_audited_after_the_read(engine, world):
    workbook(engine, world["coach"], week=WEEK)
    with Session(engine) as s:
        (row,) = s.exec(select(AuditLog).where(AuditLog.action == "weekly.export", AuditLog.outcome == "ok")).all()
    assert row.actor_username == world["coach"].username and row.entity_id == WEEK
    assert row.after["pilots"] == [world["pa"]] and row.after["bytes"] > 5000


def test_unknown_pilot_is_not_found(engine, world):
    from portal.errors import NotFound

    with pytest.raises(NotFound):
        weekly.build(actor=world["hq"], engine=engine, week=WEEK, pilot_ids=[99999])


# ------------------------------------------------------------------ empty week, same cells, CLI


def test_an_empty_week_is_a_valid_workbook_that_says_so(engine, world):
    wb = workbook(engine, world["hq"], week="2026-W40")
    assert wb.sheetnames == SHEETS_ZH
    assert wb["汇总"]["A3"].value.startswith("本周没有进行中的试点")
    assert "试点 0 个" in wb["汇总"]["A1"].value
    for ws in wb.worksheets:
        assert any(isinstance(v, str) and v.startswith("本周") or v == "尚无可统计的周数据。"
                   for r in rows(ws) for v in r), ws.title
    assert not wb["汇总"]._charts


def test_workbook_cells_are_exactly_the_written_cells(engine, world):
    data = db.run(weekly.gather, engine=engine, write=False, actor=world["hq"], week=WEEK)
    wb = load_workbook(io.BytesIO(export.to_xlsx(data)))

    def plain(v):
        return datetime(v.year, v.month, v.day) if isinstance(v, date) and not isinstance(v, datetime) else v

    for (title, cells), ws in zip(export.workbook_cells(data), wb.worksheets, strict=True):
        assert title == ws.title
        written = [[c for c in r] for r in ws.iter_rows(values_only=True)]
        expected = [[plain(v) for v in r] + [None] * (ws.max_column - len(r)) for r in cells]
        assert written == expected, title


def test_cli_refuses_bad_weeks_with_exit_code_2(tmp_path, capsys):
    for bad in ("2026-W60", "abc"):
        out = tmp_path / "w.xlsx"
        assert main(["export", "weekly", "--week", bad, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert bad in err and "2026-W47" in err
        assert not out.exists()
    with pytest.raises(SystemExit) as exit_:
        main(["export", "weekly", "--week", "2026-W46", "--out", str(tmp_path / "w.csv")])
    assert exit_.value.code == 2
