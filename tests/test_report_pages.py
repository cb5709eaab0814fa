"""The daily report page through AppTest on the demo database: a coach fills the grid and
saves, a stale save shows the newer numbers, the branch lead reads only, staff cannot open it."""

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from models.org import User
from models.pilot import Pilot
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal import access, clock, db, navigation, reports
from tests.apptest import TIMEOUT, goto, open_as, raw_keys


def main_pilot(engine) -> Pilot:
    with Session(engine) as s:
        return s.exec(select(Pilot).where(Pilot.phase == "pilot")).one()


def edits(rows: dict[int, dict]) -> dict:
    return {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


def saved_grid(engine, pilot_id, day) -> dict[str, int]:
    with Session(engine) as s:
        report = s.exec(select(DailyReport).where(DailyReport.pilot_id == pilot_id,
                                                  DailyReport.report_date == day)).first()
        if report is None:
            return {}
        rows = s.exec(select(DailyEntry.metric, DailyEntry.value).where(DailyEntry.report_id == report.id)).all()
        rows += s.exec(select(BranchEntry.metric, BranchEntry.value).where(BranchEntry.report_id == report.id)).all()
    return dict(rows) | {"_version": report.version}


def test_coach_fills_the_grid_and_saves(demo_db):
    pilot, today = main_pilot(demo_db), clock.today()
    at = goto(open_as("coach_li"), "daily_report")
    assert not at.exception and not at.error and not raw_keys(at)
    assert any("· 1" in e.label for e in at.expander)  # the one missing working day is flagged
    grid_key = f"grid_{pilot.id}_{today.isoformat()}_0"
    at.session_state[grid_key] = edits({0: {"wecom_adds": 7, "valid_adds": 6, "aum_increase": 1500.5}})
    at.number_input(key=f"b_staff_active_{pilot.id}_{today.isoformat()}_0").set_value(1)
    at.text_area(key=f"t_blockers_{pilot.id}_{today.isoformat()}_0").input("客户不愿意加微信")
    at.button(key=f"save_{pilot.id}_{today.isoformat()}_0").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["日报已保存（第 1 版）。"]
    assert saved_grid(demo_db, pilot.id, today) == {"wecom_adds": 7, "valid_adds": 6, "aum_increase": 150050,
                                                    "staff_active": 1, "_version": 1}
    with Session(demo_db) as s:
        assert s.exec(select(DailyReport.blockers).where(DailyReport.report_date == today)).one() == "客户不愿意加微信"
    assert at.button(key=f"save_{pilot.id}_{today.isoformat()}_1")  # reloaded as version 1


def test_invalid_grid_is_refused_with_the_row_named(demo_db):
    pilot, today = main_pilot(demo_db), clock.today()
    at = goto(open_as("coach_li"), "daily_report")
    suffix = f"{pilot.id}_{today.isoformat()}_0"
    at.session_state[f"grid_{suffix}"] = edits({1: {"wecom_adds": 2, "valid_adds": 5}})
    at.button(key=f"save_{suffix}").click().run()
    assert not at.exception
    assert at.error and "有效添加数" in at.error[0].value and "企微添加数" in at.error[0].value
    assert at.warning  # the live check listed it before saving, too
    assert saved_grid(demo_db, pilot.id, today) == {}


def test_stale_save_shows_the_newer_values(demo_db):
    pilot, today = main_pilot(demo_db), clock.today()
    at = goto(open_as("coach_li"), "daily_report")
    suffix = f"{pilot.id}_{today.isoformat()}_0"
    staff_id = int(at.data_editor[0].value["staff_id"].iloc[0])

    def zhao_saves(session):
        uid = session.exec(select(User.id).where(User.username == "coach_zhao")).one()
        return reports.save_report(session, actor=access.load_actor(session, uid), pilot_id=pilot.id,
                                   report_date=today, expected_version=0, staff_values={staff_id: {"wecom_adds": 9}})

    db.run(zhao_saves)
    at.session_state[f"grid_{suffix}"] = edits({0: {"wecom_adds": 4}})
    at.button(key=f"save_{suffix}").click().run()
    assert not at.exception
    assert at.warning and "赵雪" in at.warning[0].value
    assert at.data_editor[0].value["wecom_adds"].iloc[0] == 9  # the newer numbers are on screen
    assert any(e.label == "您未能保存的数据（仅供对照）" for e in at.expander)
    assert saved_grid(demo_db, pilot.id, today)["wecom_adds"] == 9


def test_branch_lead_reads_only(demo_db):
    at = goto(open_as("lead_qinghe"), "daily_report")
    assert not at.exception and not at.error and not raw_keys(at)
    assert "不能修改" in at.info[0].value
    assert not [b for b in at.button if str(b.key or "").startswith("save_")]
    # the saved report as tables and text, no form of disabled inputs
    assert not at.data_editor and not at.number_input and not at.text_area
    grid = at.dataframe[0].value
    assert len(grid) > 0 and {"employee_no", "name", "wecom_adds"} <= set(grid.columns)
    assert "卡点" in [m.value.strip("*") for m in at.markdown]


def test_staff_cannot_open_the_page(demo_db):
    at = open_as("staff_demo")
    assert not at.exception
    with pytest.raises(ValueError):
        goto(at, "daily_report")
    direct = AppTest.from_file(str(navigation.spec("daily_report").path), default_timeout=TIMEOUT).run()
    assert direct.error and "权限" in direct.error[0].value and not direct.data_editor
