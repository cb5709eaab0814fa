"""Excel round-trip of daily reports: the template, imports (all rows or none, per-row errors),
refused files (not xlsx, zip bomb, renamed columns, wrong pilot), the CLI and the speed."""

import io
import sys
import time
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlmodel import Session, func, select

from models.audit import AuditLog
from models.org import Staff
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal import cli, db, report_import
from portal.errors import PermissionDenied, ValidationFailed
from tests import factories
from tests.test_numbers_and_xlsx import _zip
from tests.test_reports import TODAY, frozen_clock, make_world, save, stored  # noqa: F401

START = TODAY - timedelta(days=3)


@pytest.fixture
def world(engine):
    return make_world(engine)


def template(w, actor=None, *, pilot=None, start=START, end=TODAY) -> bytes:
    return db.run(report_import.template_workbook, engine=w.engine, write=False, actor=actor or w.coach,
                  pilot_id=pilot or w.pilot, start=start, end=end)


def edit(data: bytes, change) -> bytes:
    """Open a workbook, let `change(staff_sheet, columns_by_code, workbook)` edit it, save."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    change(ws, {report_import.header_code(c.value): c.column for c in ws[1]}, wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def fill(adds=5, valid=4):
    def change(ws, col, _wb):
        for r in range(2, ws.max_row + 1):
            ws.cell(r, col["wecom_adds"]).value = adds
            ws.cell(r, col["valid_adds"]).value = valid
    return change


def upload(w, data, actor=None, *, dry_run=False, pilot=None):
    return db.run(report_import.import_reports, engine=w.engine, actor=actor or w.coach, pilot_id=pilot or w.pilot,
                  data=data, filename="日报.xlsx", dry_run=dry_run)


def test_template_has_coded_headers_saved_values_and_a_hidden_pilot_id(world):
    save(world, day=TODAY - timedelta(days=1), staff_values={world.a[1]: {"aum_increase": "88.5"}},
         branch_values={"staff_active": 3}, blockers="名单不准")
    wb = load_workbook(io.BytesIO(template(world)))
    staff_ws, branch_ws, notes, meta = wb.worksheets
    codes = [report_import.header_code(c.value) for c in staff_ws[1]]
    assert codes[:3] == ["date", "employee_no", "name"] and "wecom_adds" in codes and "staff_active" not in codes
    assert staff_ws.max_row == 1 + 4 * 6  # 4 days × 6 active staff
    rows = [[c.value for c in row] for row in staff_ws.iter_rows(min_row=2)]
    hit = next(r for r in rows if r[0].date() == TODAY - timedelta(days=1) and r[1] == "A01")
    assert hit[codes.index("aum_increase")] == 88.5 and hit[codes.index("wecom_adds")] is None
    branch_codes = [report_import.header_code(c.value) for c in branch_ws[1]]
    assert {"staff_active", "channel:desk_card", "blockers"} <= set(branch_codes)
    day_row = [c.value for c in branch_ws[4]]  # the third day
    assert day_row[branch_codes.index("staff_active")] == 3 and day_row[branch_codes.index("blockers")] == "名单不准"
    assert meta.sheet_state == "hidden" and meta["B1"].value == world.pilot
    assert notes.max_row >= 5


def test_good_file_dry_run_then_commit_then_idempotent(world):
    data = edit(template(world), fill())
    result = upload(world, data, dry_run=True)
    assert result["errors"].empty and not result["committed"] and result["rows"] == 24 + 4
    assert stored(world.engine)["reports"] == []
    result = upload(world, data)
    assert result["committed"] and result["changed"] == 4 and len(result["dates"]) == 4
    with Session(world.engine) as s:
        assert s.exec(select(func.count()).select_from(DailyReport)).one() == 4
        assert s.exec(select(func.sum(DailyEntry.value)).where(DailyEntry.metric == "wecom_adds")).one() == 5 * 24
        assert s.exec(select(AuditLog).where(AuditLog.action == "reports.import")).one().after["changed"] == 4
    again = upload(world, data)
    assert again["committed"] and again["changed"] == 0
    for actor in (world.lead, world.staff, world.other):
        with pytest.raises(PermissionDenied):
            upload(world, data, actor)


def test_oversized_sheets_are_refused(world, monkeypatch):
    monkeypatch.setattr(report_import, "MAX_ROWS", 10)
    with pytest.raises(ValidationFailed) as err:
        upload(world, edit(template(world), fill()), dry_run=True)
    assert err.value.key == "reports.err_too_many_rows"


def test_one_bad_row_commits_nothing_and_names_the_row(world):
    save(world, staff_values={world.a[0]: {"wecom_adds": 9}})
    before = stored(world.engine)

    def change(ws, col, wb):
        fill()(ws, col, wb)
        ws.cell(5, col["valid_adds"]).value = 6  # more valid adds than adds
        ws.cell(7, col["outbound_calls"]).value = "十二"

    result = upload(world, edit(template(world), change))
    errors = result["errors"]
    assert not result["committed"] and errors["row"].tolist() == [5, 7]
    assert "有效添加数" in errors["message"].iloc[0] and "十二" in errors["message"].iloc[1]
    assert stored(world.engine) == before


def test_shuffled_columns_import_renamed_or_missing_ones_are_refused(world):
    def shuffle(ws, col, _wb):
        fill()(ws, col, _wb)
        a, b = col["wecom_adds"], col["touches_1v1"]
        for r in range(1, ws.max_row + 1):
            ws.cell(r, a).value, ws.cell(r, b).value = ws.cell(r, b).value, ws.cell(r, a).value

    assert upload(world, edit(template(world), shuffle), dry_run=True)["errors"].empty
    renames = {
        "code changed": lambda ws, col, _: setattr(ws.cell(1, col["valid_adds"]), "value", "有效添加 [valid_addz]"),
        "code removed": lambda ws, col, _: setattr(ws.cell(1, col["valid_adds"]), "value", "有效添加数"),
        "column deleted": lambda ws, col, _: ws.delete_cols(col["valid_adds"]),
        "duplicated": lambda ws, col, _: setattr(ws.cell(1, col["touches_1v1"]), "value", "x [wecom_adds]"),
    }
    for name, change in renames.items():
        with pytest.raises(ValidationFailed) as err:
            upload(world, edit(template(world), change))
        assert err.value.key in ("reports.err_columns", "reports.err_header"), name
    assert stored(world.engine)["reports"] == []


def test_unknown_staff_bad_dates_duplicates_and_old_dates_are_row_errors(world):
    def change(ws, col, wb):
        fill()(ws, col, wb)
        ws.cell(2, col["employee_no"]).value = "B00"  # another branch's employee
        ws.cell(3, col["name"]).value = "张冠李戴"
        ws.cell(4, col["date"]).value = "昨天"
        last = ws.max_row + 1
        for c in range(1, ws.max_column + 1):
            ws.cell(last, c).value = ws.cell(5, c).value  # duplicate of row 5
        ws.cell(6, col["date"]).value = TODAY - timedelta(days=9)  # too old for a coach

    errors = upload(world, edit(template(world), change))["errors"]
    by_row = dict(zip(errors["row"], errors["message"], strict=False))
    assert "B00" in by_row[2] and "张冠李戴" in by_row[3] and "昨天" in by_row[4] and "7" in by_row[6]
    assert "5" in by_row[26]  # the appended duplicate names the first row
    assert stored(world.engine)["reports"] == []


def test_branch_sheet_sets_branch_figures_channels_and_texts(world):
    def change(ws, col, wb):
        fill(adds=2, valid=2)(ws, col, wb)
        bs = wb.worksheets[1]
        bcol = {report_import.header_code(c.value): c.column for c in bs[1]}
        bs.cell(5, bcol["staff_active"]).value = 6
        bs.cell(5, bcol["channel:desk_card"]).value = 12  # 6 staff × 2 adds
        bs.cell(5, bcol["blockers"]).value = "台卡位置不显眼"
        bs.cell(4, bcol["channel:desk_card"]).value = 3  # does not add up to 12

    result = upload(world, edit(template(world), change))
    assert result["errors"]["row"].tolist() == [4] and result["errors"]["sheet"].tolist() == ["机构日报"]
    assert stored(world.engine)["reports"] == []

    def fixed(ws, col, wb):
        change(ws, col, wb)
        wb.worksheets[1].cell(4, 1 + [report_import.header_code(c.value) for c in wb.worksheets[1][1]]
                              .index("channel:desk_card")).value = 12

    assert upload(world, edit(template(world), fixed))["committed"]
    with Session(world.engine) as s:
        report = s.exec(select(DailyReport).where(DailyReport.report_date == TODAY)).one()
        channels = s.exec(select(BranchEntry.channel, BranchEntry.value).where(BranchEntry.report_id == report.id,
                                                                             BranchEntry.channel != "")).all()
    assert report.blockers == "台卡位置不显眼" and channels == [("desk_card", 12)]


def test_not_xlsx_zip_bomb_and_wrong_pilot_are_refused_before_anything(world):
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>", "xl/big.xml": b"0" * 30_000_000})
    for data, key in ((b"name,value\n", "upload.err_not_xlsx"), (b"", "upload.err_empty"),
                      (bomb, "upload.err_bomb")):
        with pytest.raises(ValidationFailed) as err:
            upload(world, data)
        assert err.value.key == key
    with pytest.raises(ValidationFailed) as err:
        db.run(report_import.import_reports, engine=world.engine, actor=world.coach, pilot_id=world.pilot,
               data=template(world), filename="日报.csv")
    assert err.value.key == "upload.err_not_xlsx"
    other = factories.pilot(world.engine, world.ids["subs"][0], coaches=[world.coach], start=START)
    with pytest.raises(ValidationFailed) as err:
        upload(world, edit(template(world), fill()), pilot=other)
    assert err.value.key == "reports.err_wrong_pilot"
    assert stored(world.engine)["reports"] == []


def test_cli_prints_row_errors_and_exits_2_or_0(world, tmp_path, monkeypatch, capsys):
    if world.engine.dialect.name != "sqlite":
        pytest.skip("the CLI opens the configured database by URL")
    from tests.conftest import _reset_caches

    monkeypatch.setenv("PORTAL_DATABASE_URL", world.engine.url.render_as_string(hide_password=False))
    _reset_caches()
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(edit(template(world), lambda ws, col, wb: (fill()(ws, col, wb),
                                                               setattr(ws.cell(9, col["wecom_adds"]), "value", -1))))
    good.write_bytes(edit(template(world), fill()))
    argv = ["import", "reports", str(bad), "--pilot", str(world.pilot)]
    assert cli.main(argv) == 2
    assert "!9:" in capsys.readouterr().err and stored(world.engine)["reports"] == []
    assert cli.main(["import", "reports", str(good), "--pilot", str(world.pilot), "--dry-run"]) == 0
    assert stored(world.engine)["reports"] == []
    assert cli.main(["import", "reports", str(good), "--pilot", str(world.pilot)]) == 0
    assert "imported" in capsys.readouterr().out and len(stored(world.engine)["reports"]) == 4
    monkeypatch.setattr(sys, "argv", ["pilot-portal"])
    db.get_engine().dispose()


def test_a_thousand_rows_import_well_under_five_seconds(world):
    outlet = world.ids["outlets"]["A"][0]
    with Session(world.engine) as s:
        s.execute(insert(Staff), [{"branch_id": outlet, "employee_no": f"P{i:03d}", "name": f"员工P{i:03d}",
                                   "position": "customer_manager", "active": True} for i in range(34)])
        s.commit()
    pilot = factories.pilot(world.engine, world.ids["subs"][0], coaches=[world.coach], start=TODAY - timedelta(days=25))
    start = TODAY - timedelta(days=24)

    def change(ws, col, _wb):
        for r in range(2, ws.max_row + 1):
            for code, value in (("wecom_adds", 8), ("valid_adds", 7), ("add_requests", 10), ("accepted_adds", 7),
                                ("touches_1v1", 25), ("aum_increase", "1,234.56")):
                ws.cell(r, col[code]).value = value

    data = edit(template(world, world.hq, pilot=pilot, start=start), change)
    began = time.perf_counter()
    result = upload(world, data, world.hq, pilot=pilot)
    elapsed = time.perf_counter() - began
    assert result["committed"] and result["rows"] == 40 * 25 + 25
    with Session(world.engine) as s:
        assert s.exec(select(func.count()).select_from(DailyEntry)).one() == 40 * 25 * 6
    assert elapsed < 5, elapsed
