"""Playbook pack and Q&A manual exports: workbooks reopen with the expected sheets, user text
never becomes a formula, Markdown carries the entries safely, and the CLI writes both."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from exports import markdown as md
from exports import playbook as pack_export
from exports import qa as qa_export
from models.pilot import Pilot
from portal import cli, db, playbook, qa
from portal.access import CLI_ACTOR
from tests import factories

ZH_SHEETS = ["概览", "活动流程", "话术", "SOP", "KPI与目标"]
EVIL = '=HYPERLINK("http://evil.example","点我")'


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


@pytest.fixture
def adopted(engine):
    ids = factories.org(engine)
    coach = factories.user(engine, "coach")
    pid = factories.pilot(engine, ids["subs"][0], coaches=[coach], start=date(2026, 11, 2), wecom_status="none",
                          goal="new_accounts", segment="elderly", sub_segment="active")
    db.run(playbook.adopt_package, engine=engine, actor=coach, pilot_id=pid, package_code="elderly_new_accounts")
    return {"coach": coach, "pilot": pid}


def test_package_pack_workbook_has_the_sheets_and_content(engine):
    pack = db.run(playbook.pack, engine=engine, write=False, actor=CLI_ACTOR, package_code="payroll_aum_growth")
    wb = workbook(pack_export.to_xlsx(pack))
    assert wb.sheetnames == ZH_SHEETS
    scripts = wb["话术"]
    assert scripts.freeze_panes == "A2" and scripts.auto_filter.ref
    texts = [row[2] for row in scripts.iter_rows(min_row=2, values_only=True)]
    assert any("{客户称呼}" in t for t in texts) and len(texts) >= 3 + 4 + 4  # package + both flows
    kpis = list(wb["KPI与目标"].iter_rows(min_row=2, values_only=True))
    assert kpis and all(row[-1] is None for row in kpis), "no actuals are invented"
    assert {row[5] for row in kpis} >= {500, 2_000_000}
    flow = list(wb["活动流程"].iter_rows(min_row=2, values_only=True))
    assert all(row[3] is None for row in flow), "a package alone has no dates"


def test_all_packages_pack_and_english(engine):
    import dataclasses

    pack = db.run(playbook.pack, engine=engine, write=False, actor=dataclasses.replace(CLI_ACTOR, language="en"))
    wb = workbook(pack_export.to_xlsx(pack))
    assert wb.sheetnames == ["Overview", "Flow", "Scripts", "SOP", "KPIs & targets"]
    packages = {row[0] for row in wb["KPIs & targets"].iter_rows(min_row=2, values_only=True)}
    assert len(packages) == 9


def test_pilot_pack_has_checklist_dates_and_targets(engine, adopted):
    pack = db.run(playbook.pack, engine=engine, write=False, actor=adopted["coach"], pilot_id=adopted["pilot"])
    wb = workbook(pack_export.to_xlsx(pack))
    overview = dict(wb["概览"].iter_rows(min_row=2, values_only=True))
    assert overview["试点"] == pack["pilot"]["name"] and overview["细分客群"] == "活力老人"
    sop = list(wb["SOP"].iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in sop} == {"rhythm", "service_plan", "scenario_new_accounts", "scenario_add"}
    assert all(r[7] is not None for r in sop), "every checklist item has its due date"
    assert min(r[7] for r in sop).date() < date(2026, 11, 2) <= max(r[7] for r in sop).date()
    flow = list(wb["活动流程"].iter_rows(min_row=2, values_only=True))
    assert flow[0][3].date() == date(2026, 11, 2)
    kpis = list(wb["KPI与目标"].iter_rows(min_row=2, values_only=True))
    assert [r[4] for r in kpis if r[1] == "新开户数"] == [1, 2, 3, 4]
    text = pack_export.to_markdown(pack).decode()
    assert pack["pilot"]["name"] in text and "## SOP" in text and "{客户称呼}" in text


def test_qa_answer_that_looks_like_a_formula_stays_text(engine, adopted):
    db.run(qa.create_entry, engine=engine, actor=adopted["coach"], category="compliance",
           question_zh="+86 开头的号码能加吗？", answer_zh=EVIL, tags=["@所有人"], status="published",
           source_pilot_id=adopted["pilot"])
    rows = db.run(qa.manual, engine=engine, write=False, actor=CLI_ACTOR)
    ws = workbook(qa_export.to_xlsx(rows, lang="zh"))["问答手册"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    cells = [row for row in ws.iter_rows(min_row=2) if row[3].value == EVIL]
    assert len(cells) == 1
    row = cells[0]
    assert row[3].data_type == "s" and row[2].data_type == "s" and row[4].data_type == "s"
    assert row[2].value == "+86 开头的号码能加吗？"
    categories = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert categories[0] == "不愿用" and len(categories) == len(rows) >= 37
    text = qa_export.to_markdown(rows, lang="zh").decode()
    assert "## 合规话术" in text and "+86 开头的号码能加吗？" in text
    assert "\n" + EVIL not in text and "\n\\" + EVIL in text, "formula start neutralised in Markdown"


def test_markdown_escapes_user_text():
    assert md.cell("a|b\nc") == "a\\|b c"
    assert md.cell("=1+1") == "'=1+1"
    assert md.text("![x](http://t/p.png) <b>") == "\\!\\[x\\](http://t/p.png) \\<b\\>"
    assert md.text("# 标题\n1. 列表") == "\\# 标题  \n1\\. 列表"
    table = md.table(["问", "答"], [("x|y", "- z")])
    assert table.splitlines()[2] == "| x\\|y | '- z |"


# ---------------------------------------------------------------- CLI


def test_cli_exports_write_files(demo_db, tmp_path, capsys):
    with Session(demo_db) as s:
        main = s.exec(select(Pilot).where(Pilot.package_code == "payroll_aum_growth")).one().id
    out = tmp_path / "out"
    assert cli.main(["export", "playbook", "--pilot", str(main), "--out", str(out / "pilot.xlsx")]) == 0
    assert workbook((out / "pilot.xlsx").read_bytes()).sheetnames == ZH_SHEETS
    assert cli.main(["export", "playbook", "--package", "rural_aum_growth", "--out", str(out / "rural.md")]) == 0
    assert "农村" in (out / "rural.md").read_text(encoding="utf-8")
    assert cli.main(["export", "qa", "--out", str(out / "qa.xlsx")]) == 0
    assert cli.main(["export", "qa", "--out", str(out / "qa.md")]) == 0
    manual = (out / "qa.md").read_text(encoding="utf-8")
    assert "训练营第二天打卡人数掉了一半" in manual  # published during the demo pilot
    assert "能不能保本" not in manual  # a draft is not in the manual
    assert "已导出" in capsys.readouterr().out
    assert cli.main(["export", "playbook", "--pilot", "99999", "--out", str(out / "x.md")]) == 2
    assert not (out / "x.md").exists()
    with pytest.raises(SystemExit):
        cli.main(["export", "qa", "--out", str(out / "qa.csv")])
