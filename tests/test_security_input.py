"""The bad-input catalogue: every kind of odd input a form, an import or the CLI may receive,
on SQLite and PostgreSQL. A refused kind gives a clear message (its key exists in both
catalogues) and changes no row — every table's rows hash the same before and after, the audit
log included; an accepted kind is stored exactly as meant (full-width digits, separators,
emoji, HTML and formula text kept as text)."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import openpyxl
import pytest
from sqlmodel import Session, func, select

from exports import report_template
from models.audit import AuditLog
from models.budget import BudgetLine
from models.reports import DailyReport
from portal import (
    budget_lines,
    capability,
    cli,
    clock,
    contests,
    db,
    navigation,
    pilots,
    playbook,
    points,
    qa,
    report_import,
    reports,
    sop_items,
    targets,
    users,
)
from portal.errors import PortalError, ValidationFailed
from portal.i18n import catalogue, translate
from tests import factories
from tests.apptest import goto, open_as
from tests.conftest import BACKENDS, _database, _reset_caches
from tests.test_security_access import NOW, START, TODAY, fingerprint

ACCEPTED = "accepted"
LONG = "长" * 10_000
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)><b>粗体</b>'
FORMULA = '=HYPERLINK("http://evil.example","点我")'


@dataclass(frozen=True)
class Kind:
    name: str
    surface: str  # form | import | cli
    expect: str  # the refusal's message key, or ACCEPTED
    run: Callable  # world → result (raises PortalError when refused)
    stored: Callable | None = None  # world, result → stored exactly as meant?


def coach(w, fn, **kw):
    return db.run(fn, engine=w.engine, actor=w.coach, **kw)


def report(w, day=TODAY, **kw):
    return coach(w, reports.save_report, pilot_id=w.pilot, report_date=day, expected_version=None, **kw)


def cell(w, value):
    return report(w, staff_values={w.sid: {"wecom_adds": value}})


def stored_cell(w) -> object:
    rep = db.run(reports.load_report, engine=w.engine, write=False, actor=w.coach, pilot_id=w.pilot, report_date=TODAY)
    return rep["grid"].set_index("staff_id").loc[w.sid, "wecom_adds"]


def spend(w, **kw):
    values = {"category": "training", "description": "讲师费", "planned": "100"} | kw
    return coach(w, budget_lines.add_line, pilot_id=w.pilot, **values)


def planned_fen(w, line_id) -> int:
    with Session(w.engine) as s:
        return s.get(BudgetLine, line_id).planned_fen


def ask(w, **kw):
    values = {"category": "unable", "question_zh": "代发客户怎么约？", "answer_zh": "按客群约。"} | kw
    return coach(w, qa.create_entry, **values)


def entry(w, entry_id) -> dict:
    return db.run(qa.get_entry, engine=w.engine, write=False, actor=w.coach, entry_id=entry_id)


def upload(w, data: bytes, filename: str = "daily.xlsx"):
    return coach(w, report_import.import_reports, pilot_id=w.pilot, data=data, filename=filename)


def rows_refused(key: str, **params) -> Callable:
    """An import kind whose problem comes back per row (sheet, row, message): the translated
    `key` is listed and nothing is written."""
    def run(w, make):
        result = upload(w, make(w))
        assert not result["committed"] and translate("zh", key, **params) in list(result["errors"]["message"])
        raise ValidationFailed(key)
    return run


def template(w, day=TODAY, value=3) -> bytes:
    data = db.run(report_import.template_data, engine=w.engine, write=False, actor=w.coach, pilot_id=w.pilot,
                  start=day, end=day)
    column = next(i for i, (head, _) in enumerate(data["staff_columns"]) if head.endswith("[wecom_adds]"))
    data["staff_rows"][0][column] = value
    return report_template.build(data)


def repack(data: bytes, change: Callable[[str, bytes], bytes | None], *, extra: dict | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = change(item.filename, src.read(item.filename))
            if body is not None:
                dst.writestr(item.filename, body)
        for name, body in (extra or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def sheet_xml(w) -> bytes:
    """A real billion-laughs sheet: ten levels of ten nested entities (10^9 'lol's if expanded)."""
    ents = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<!DOCTYPE worksheet [{ents}]>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>').encode()


def entity_bomb(w) -> bytes:
    return repack(template(w), lambda name, body: sheet_xml(w) if name == "xl/worksheets/sheet1.xml" else body)


def zip_bomb(w) -> bytes:
    return repack(template(w), lambda name, body: body, extra={"xl/media/padding.bin": b"\0" * (60 * 1024 * 1024)})


def damaged_sheet(w) -> bytes:
    return repack(template(w), lambda name, body: body.replace(b"</sheetData>", b"<row>")
                  if name == "xl/worksheets/sheet1.xml" else body)


def renamed_column(w) -> bytes:
    return repack(template(w), lambda name, body: body.replace(b"[wecom_adds]", b"[wecom_added]"))


def other_pilots_file(w) -> bytes:
    return repack(template(w), lambda name, body: body.replace(f">{w.pilot}<".encode(), f">{w.pilot + 1000}<".encode())
                  if name.startswith("xl/worksheets/sheet4") else body)


def edited(w, change: Callable) -> bytes:
    """The template opened in Excel (openpyxl), changed, saved again."""
    wb = openpyxl.load_workbook(io.BytesIO(template(w)))
    change(wb.worksheets[0])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def cli_refused(key: str, *argv_of: Callable | str, stdin: str = "", **params) -> Callable:
    """A CLI kind on this world's SQLite file: exit 2 and the translated `key` on stderr."""
    def run(w):
        if w.url is None:
            pytest.skip("the CLI kinds run on the SQLite file")
        w.monkeypatch.setenv("PORTAL_DATABASE_URL", w.url)
        w.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        _reset_caches()
        try:
            code = cli.main([a(w) if callable(a) else a for a in argv_of])
        finally:
            db.get_engine().dispose()
        err = w.capsys.readouterr().err
        assert code == 2 and translate("zh", key, **params) in err, (code, err)
        raise ValidationFailed(key)
    return run


def xlsx_file(make: Callable) -> Callable:
    def path(w):
        target = w.tmp / f"upload_{make.__name__}.xlsx"
        target.write_bytes(make(w))
        return str(target)
    return path


def formula_stays_text(w, _result) -> bool:
    wb = openpyxl.load_workbook(io.BytesIO(db.run(report_import.template_workbook, engine=w.engine, write=False,
                                                    actor=w.coach, pilot_id=w.pilot, start=TODAY, end=TODAY)))
    cells = [c for ws in wb.worksheets for r in ws.iter_rows() for c in r if c.value == FORMULA]
    return bool(cells) and all(c.data_type == "s" for c in cells)


def one_report_one_audit(w, results) -> bool:
    with Session(w.engine) as s:
        count = s.exec(select(func.count()).select_from(DailyReport)
                       .where(DailyReport.pilot_id == w.pilot, DailyReport.report_date == TODAY - timedelta(1))).one()
        audited = s.exec(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "reports.save", AuditLog.entity_id == str(results[0]["report_id"]))).one()
    return count == 1 and audited == 1 and results[0]["changed"] and not results[1]["changed"]


F, U, C = "form", "import", "cli"
KINDS: list[Kind] = [
    Kind("negative count", F, "num.err_negative", lambda w: cell(w, "-3")),
    Kind("negative money", F, "num.err_negative", lambda w: spend(w, planned="-100")),
    Kind("zero amount", F, "budget.err_zero", lambda w: spend(w, planned="0")),
    Kind("zero points", F, "contests.err_points", lambda w: coach(
        w, points.request_award, contest_id=w.contest, staff_id=w.sid, points="0", reason="通关考核")),
    Kind("huge count", F, "num.err_too_large", lambda w: cell(w, "99999999999999999999")),
    Kind("huge money", F, "num.err_too_large", lambda w: spend(w, planned="100000000000")),
    Kind("NaN number", F, "num.err_not_finite", lambda w: cell(w, float("nan"))),
    Kind("NaN text", F, "num.err_not_number", lambda w: spend(w, planned="NaN")),
    Kind("infinity", F, "num.err_not_finite", lambda w: cell(w, float("inf"))),
    Kind("infinity text", F, "num.err_not_number", lambda w: coach(
        w, targets.set_target, pilot_id=w.pilot, metric="wecom_adds", week=1, value="Infinity")),
    Kind("full-width digits", F, ACCEPTED, lambda w: cell(w, "１２"), lambda w, r: stored_cell(w) == 12),
    Kind("full-width money", F, ACCEPTED, lambda w: spend(w, planned="１２，３４５．６０"),
         lambda w, line: planned_fen(w, line) == 1_234_560),
    Kind("thousands separators", F, ACCEPTED, lambda w: spend(w, planned="12,345.60"),
         lambda w, line: planned_fen(w, line) == 1_234_560),
    Kind("misplaced separators", F, "num.err_not_number", lambda w: spend(w, planned="1,23")),
    Kind("more than two decimals", F, "num.err_money_decimals", lambda w: spend(w, planned="1.234")),
    Kind("fraction for a count", F, "num.err_not_integer", lambda w: cell(w, "2.5")),
    Kind("boolean as a number", F, "num.err_not_number", lambda w: cell(w, True)),
    Kind("out-of-range score", F, "reports.err_range", lambda w: report(w, branch_values={"nps": 101})),
    Kind("empty amount", F, "budget.err_required", lambda w: spend(w, planned="")),
    Kind("whitespace only (one line)", F, "budget.err_required", lambda w: spend(w, description=" \t  ")),
    Kind("whitespace only (question)", F, "qa.err_length.question_zh", lambda w: ask(w, question_zh="   ")),
    Kind("10,000-character report text", F, "reports.err_text_long", lambda w: report(w, highlights=LONG)),
    Kind("10,000-character answer", F, "qa.err_length.answer_zh", lambda w: ask(w, answer_zh=LONG)),
    Kind("10,000-character evidence note", F, "sop.err_note_long", lambda w: coach(
        w, sop_items.complete, item_id=w.item, evidence_note=LONG)),
    Kind("emoji and CJK", F, ACCEPTED, lambda w: ask(w, question_zh="🎉代发客户👍怎么约？𠀀"),
         lambda w, eid: entry(w, eid)["question_zh"] == "🎉代发客户👍怎么约？𠀀"),
    Kind("HTML and script text", F, ACCEPTED, lambda w: ask(w, answer_zh=HTML),
         lambda w, eid: entry(w, eid)["answer_zh"] == HTML),
    Kind("formula text", F, ACCEPTED, lambda w: report(w, blockers=FORMULA), formula_stays_text),
    Kind("control characters", F, "text.err_control", lambda w: spend(w, description="培训\x1b[31m")),
    Kind("NUL byte", F, "text.err_control", lambda w: report(w, highlights="好\x00")),
    Kind("bidi override", F, "text.err_bidi", lambda w: coach(
        w, sop_items.add_item, pilot_id=w.pilot, title="\u202e反向标题", due_date=TODAY, owner_role="coach")),
    Kind("line break in a one-line field", F, "text.err_newline", lambda w: spend(w, vendor="甲公司\n乙公司")),
    Kind("control character in a pilot name", F, "text.err_control", lambda w: db.run(
        pilots.create_pilot, engine=w.engine, actor=w.hq, name="试点\x07", branch_id=w.branch, start_date=TODAY)),
    Kind("line break in a display name", F, "text.err_newline", lambda w: db.run(
        users.update_user, engine=w.engine, actor=w.hq, username=w.coach.username, display_name="李晨\n（总行）")),
    Kind("javascript: link", F, "sop.err_link", lambda w: coach(
        w, sop_items.complete, item_id=w.item, evidence_link="javascript:alert(1)")),
    Kind("unsafe webhook URL", F, "contests.err_webhook", lambda w: coach(
        w, contests.set_webhook, contest_id=w.contest, url="http://evil.example.com/hook")),
    Kind("bad username", F, "users.err_username", lambda w: db.run(
        users.create_user, engine=w.engine, actor=w.hq, username="王 经理", password=factories.PASSWORD,
        role="coach")),
    Kind("unknown choice", F, "budget.err_category", lambda w: spend(w, category="crypto")),
    Kind("report date in the future", F, "reports.err_future", lambda w: report(
        w, day=TODAY + timedelta(days=1), highlights="明天")),
    Kind("report date before the pilot", F, "reports.err_outside_window", lambda w: report(
        w, day=START - timedelta(days=1), highlights="开始前")),
    Kind("spend date in the future", F, "budget.err_date_future", lambda w: spend(
        w, status="paid", actual="10", planned=None, spend_date=TODAY + timedelta(days=1))),
    Kind("spend date long before the pilot", F, "budget.err_date_range", lambda w: spend(
        w, spend_date=START - timedelta(days=400))),
    Kind("invalid date", F, "budget.err_date", lambda w: spend(w, spend_date="2026-02-30")),
    Kind("assessment in the future", F, "capability.err_future", lambda w: db.run(
        capability.record, engine=w.engine, actor=w.hq, branch_id=w.branch, on=TODAY + timedelta(days=1),
        scores={})),
    Kind("duplicate submission", F, ACCEPTED, lambda w: [report(w, day=TODAY - timedelta(1), highlights="同一份")
                                                         for _ in range(2)], one_report_one_audit),
    Kind("duplicate username", F, "users.err_exists", lambda w: db.run(
        users.create_user, engine=w.engine, actor=w.hq, username=w.coach.username, password=factories.PASSWORD,
        role="coach")),
    Kind("stale version (second tab)", F, "budget.err_stale", lambda w: coach(
        w, budget_lines.update_line, line_id=w.line, version=0, description="旧页面")),
    Kind("SQL text in a search", F, ACCEPTED, lambda w: db.run(
        qa.search, engine=w.engine, write=False, actor=w.coach, text="'; DROP TABLE qaentry; --"),
         lambda w, df: df.empty),
    Kind("LIKE wildcards in a search", F, ACCEPTED, lambda w: db.run(
        qa.search, engine=w.engine, write=False, actor=w.coach, text="%_%"), lambda w, df: df.empty),
    Kind("empty upload", U, "upload.err_empty", lambda w: upload(w, b"")),
    Kind("malformed xlsx", U, "upload.err_not_xlsx", lambda w: upload(w, b"PK\x03\x04 not really a zip" * 50)),
    Kind("renamed file (PNG as .xlsx)", U, "upload.err_not_xlsx", lambda w: upload(w, b"\x89PNG\r\n\x1a\n" * 64)),
    Kind("renamed file (.csv name)", U, "upload.err_not_xlsx", lambda w: upload(w, template(w), "daily.csv")),
    Kind("truncated xlsx", U, "upload.err_not_xlsx", lambda w: upload(w, template(w)[:2000])),
    Kind("oversized xlsx", U, "upload.err_too_big", lambda w: upload(w, template(w) + b"\0" * (11 * 1024 * 1024))),
    Kind("zip bomb", U, "upload.err_bomb", lambda w: upload(w, zip_bomb(w))),
    Kind("XML entity bomb", U, "upload.err_xml_entities", lambda w: upload(w, entity_bomb(w))),
    Kind("damaged sheet XML", U, "upload.err_damaged", lambda w: upload(w, damaged_sheet(w))),
    Kind("renamed column", U, "reports.err_columns", lambda w: upload(w, renamed_column(w))),
    Kind("another pilot's file", U, "reports.err_wrong_pilot", lambda w: upload(w, other_pilots_file(w))),
    Kind("invalid date in a row", U, "reports.err_date", lambda w: rows_refused(
        "reports.err_date", value="2026-02-30")(w, lambda w: edited(
        w, lambda ws: setattr(ws.cell(row=2, column=1), "value", "2026-02-30")))),
    Kind("duplicate rows", U, "reports.err_duplicate_row", lambda w: rows_refused(
        "reports.err_duplicate_row", first=2)(w, lambda w: edited(w, lambda ws: ws.append([c.value for c in ws[2]])))),
    Kind("CLI: missing file", C, "upload.err_read", cli_refused(
        "upload.err_read", "import", "reports", "/nonexistent/daily.xlsx", "--pilot", lambda w: str(w.pilot),
        path="/nonexistent/daily.xlsx")),
    Kind("CLI: zip bomb", C, "upload.err_bomb", cli_refused(
        "upload.err_bomb", "import", "reports", xlsx_file(zip_bomb), "--pilot", lambda w: str(w.pilot))),
    Kind("CLI: unknown pilot", C, "err.not_found", cli_refused(
        "err.not_found", "import", "reports", xlsx_file(template), "--pilot", "987654", entity="pilot", id=987654)),
    Kind("CLI: common password on stdin", C, "auth.pw_common", cli_refused(
        "auth.pw_common", "user", "add", "new_coach", "--role", "coach", stdin="password123\n")),
]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("input")
    with clock.frozen(NOW), _database(request.param, tmp, migrations_only=False) as engine:
        ids = factories.org(engine)
        a = ids["subs"][0]
        w = SimpleNamespace(engine=engine, tmp=tmp, branch=a, sid=ids["staff"]["A"][0],
                            url=f"sqlite:///{tmp / 'test.db'}" if request.param == "sqlite" else None,
                            hq=factories.user(engine, "hq", branch_ids=[ids["head"]]), coach=factories.user(engine, "coach"))
        w.pilot = factories.pilot(engine, a, coaches=[w.coach], start=START)
        db.run(playbook.adopt_package, engine=engine, actor=w.hq, pilot_id=w.pilot, package_code="payroll_new_accounts")
        w.contest = coach(w, contests.create_contest, name="PK", pilot_id=w.pilot, start_date=START, end_date=TODAY)
        w.item = coach(w, sop_items.add_item, pilot_id=w.pilot, title="事项", due_date=TODAY, owner_role="coach")["id"]
        w.line = spend(w)
        with Session(engine) as s:
            version = s.get(BudgetLine, w.line).version
        coach(w, budget_lines.update_line, line_id=w.line, version=version, description="讲师费（改）")
        yield w


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_bad_input(world, kind, monkeypatch, capsys):
    world.monkeypatch, world.capsys = monkeypatch, capsys
    with clock.frozen(NOW):
        before = fingerprint(world.engine)
        if kind.expect == ACCEPTED:
            result = kind.run(world)
            assert kind.stored(world, result), kind.name
            return
        with pytest.raises(PortalError) as err:
            kind.run(world)
        assert err.value.key == kind.expect, (err.value.key, err.value.params)
        assert kind.expect in catalogue("zh") and kind.expect in catalogue("en")
        assert translate("zh", kind.expect, **err.value.params).strip() != kind.expect
        assert fingerprint(world.engine) == before, "a refused input changed data"


def test_catalogue_is_broad():
    assert len(KINDS) >= 40 and {k.surface for k in KINDS} == {F, U, C}
    assert len({k.name for k in KINDS}) == len(KINDS)


def test_html_and_script_text_render_as_text(demo_db):
    """Stored HTML reaches the screen as characters: st.text / dataframe cells, never Markdown
    or HTML; and no page or portal module uses unsafe_allow_html."""
    from portal.access import CLI_ACTOR

    db.run(qa.create_entry, actor=CLI_ACTOR, category="unable", question_zh=HTML[:60], answer_zh=HTML,
           status="published")
    at = open_as("staff_demo")
    goto(at, "qa")
    at.text_input(key="qa_query").input("script").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any(HTML in t for t in texts), texts
    rendered_markdown = [m.value for m in (*at.markdown, *at.caption, *at.error, *at.info, *at.warning)]
    assert not [m for m in rendered_markdown if "<script" in m or "<img" in m]
    sources = [p.read_text(encoding="utf-8") for p in (*navigation.PAGES_DIR.glob("*.py"),
                                                      *(navigation.PAGES_DIR.parent / "portal").glob("*.py"))]
    assert not [s for s in sources if "unsafe_allow_html" in s]


@pytest.mark.parametrize(("raw", "multiline", "expected"), [
    ("  一行\t文字  ", False, "一行 文字"), ("a\r\nb\rc\u2028d", True, "a\nb\nc\nd"), (None, False, ""),
    ("a\u2029b", False, "text.err_newline"), ("a\u200fb", False, "text.err_bidi"), ("a\x85b", False, "text.err_newline"),
    ("a\x9bb", True, "text.err_control"), ("a\ud800b", True, "text.err_control"), (12, False, "text.err_type"),
    ("长" * 11, False, "text.err_length"),
])
def test_the_one_text_rule(raw, multiline, expected):
    from portal import text

    if not expected.startswith("text."):
        assert text.clean(raw, max_len=10, multiline=multiline) == expected
        return
    with pytest.raises(ValidationFailed) as err:
        text.clean(raw, max_len=10, multiline=multiline)
    assert err.value.key == expected and expected in catalogue("en")
