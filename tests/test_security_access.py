"""The access matrix (tests/security_matrix.py), cell by cell, through the services and exports on
SQLite and PostgreSQL. Pages are checked through AppTest in tests/test_security_pages.py's
sibling below (same module, `test_page_*`). A denied cell must raise PermissionDenied, leave
every data row as it was and add only "denied" audit rows naming the actor."""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from exports import playbook as pack_export
from exports import qa as qa_export
from exports import report_template
from models.audit import AuditLog
from models.contests import PointEntry
from models.playbook import StageCriterion
from portal import (
    audit,
    budget,
    budget_lines,
    budget_views,
    capability,
    clock,
    contests,
    db,
    kpis,
    leaderboard,
    lifecycle,
    maturity,
    metrics,
    org,
    pilots,
    playbook,
    points,
    portfolio,
    profile,
    qa,
    report_import,
    reports,
    robot,
    scaleout,
    sop,
    sop_items,
    sop_views,
    targets,
    users,
    weekly,
)
from portal.access import CLI_ACTOR
from portal.errors import PermissionDenied
from tests import factories
from tests.conftest import BACKENDS, _database
from tests.security_matrix import ALLOW, DENY, HIDE, ROLES, cells, rows

TODAY = date(2026, 11, 18)  # a Wednesday
NOW = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
START = TODAY - timedelta(days=14)
LATER = TODAY + timedelta(days=30)  # set-up pilots start later, so each branch's current pilot stays put
PACKAGE = "payroll_new_accounts"  # fits the factories' default goal × segment
WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=matrix-robot-KEY"
_n = itertools.count(1)


@dataclass
class Call:
    run: Callable  # actor → result
    seen: Callable | None = None  # result → is the target in it?


def build_world(engine) -> SimpleNamespace:
    ids = factories.org(engine)
    a, b = ids["subs"]
    mk = factories.user
    w = SimpleNamespace(engine=engine, ids=ids, hq=mk(engine, "hq", branch_ids=[ids["head"]]),
                        coach=mk(engine, "coach"), coach_b=mk(engine, "coach"),
                        lead=mk(engine, "branch_lead", branch_ids=[a]), lead_b=mk(engine, "branch_lead", branch_ids=[b]),
                        staff=mk(engine, "staff", staff_no="A00"), branch={"own": a, "other": b},
                        staff_ids={"own": ids["staff"]["A"], "other": ids["staff"]["B"]},
                        target={"own": mk(engine, "branch_lead", branch_ids=[a]).username,
                                "other": mk(engine, "branch_lead", branch_ids=[b]).username})
    w.actors = {"hq": w.hq, "coach": w.coach, "branch_lead": w.lead, "staff": w.staff}
    w.pilot = {"own": factories.pilot(engine, a, coaches=[w.coach], start=START, phase="pilot", name="青禾矩阵试点"),
               "other": factories.pilot(engine, b, coaches=[w.coach_b], start=START, phase="pilot", name="白沙矩阵试点")}
    w.coach_of = {"own": w.coach, "other": w.coach_b}
    w.contest, w.qa = {}, {}
    for side, pid in w.pilot.items():
        hq_run(w, playbook.adopt_package, pilot_id=pid, package_code=PACKAGE)
        w.contest[side] = hq_run(w, contests.create_contest, name=f"矩阵PK{side}", pilot_id=pid, start_date=START,
                                 end_date=START + timedelta(days=27))
        w.qa[side] = hq_run(w, qa.create_entry, category="unwilling", question_zh=f"矩阵问题{side}",
                            answer_zh="答案", status="published", source_pilot_id=pid, source_date=START)
        db.run(points.request_award, engine=engine, actor=w.coach_of[side], contest_id=w.contest[side],
               staff_id=w.staff_ids[side][0], points="50", reason="等待总行审批")
        hq_run(w, budget_lines.add_line, pilot_id=pid, category="training", description="讲师费", planned="10")
    with Session(engine) as s:
        w.criterion = s.exec(select(StageCriterion.code, StageCriterion.threshold)
                             .where(StageCriterion.kind == "metric").order_by(StageCriterion.code)).first()
        w.capabilities = [c["code"] for c in capability.capabilities(s, "zh")]
    return w


def hq_run(w, fn, **kw):
    return db.run(fn, engine=w.engine, actor=w.hq if hasattr(w, "hq") else CLI_ACTOR, **kw)


def call(w, fn, *, write: bool = True, seen=None, **kw) -> Call:
    return Call(lambda actor: db.run(fn, engine=w.engine, write=write, actor=actor, **kw), seen)


def read(w, fn, **kw) -> Call:
    return call(w, fn, write=False, **kw)


def new_pilot(w, side: str, *, coaches=()) -> int:
    return factories.pilot(w.engine, w.branch[side], coaches=list(coaches), start=LATER, phase="planning")


def workbook(w, side: str, day: date, value: int) -> bytes:
    data = hq_run(w, report_import.template_data, pilot_id=w.pilot[side], start=day, end=day)
    column = next(i for i, (head, _) in enumerate(data["staff_columns"]) if head.endswith("[wecom_adds]"))
    data["staff_rows"][0][column] = value
    return report_template.build(data)


def award_entry(w, side: str) -> int:
    award = hq_run(w, points.request_award, contest_id=w.contest[side], staff_id=w.staff_ids[side][1], points="1",
                   reason="通关考核")
    with Session(w.engine) as s:
        return s.exec(select(PointEntry.id).where(PointEntry.source_ref == f"award:{award['id']}")).scalar_one()


def validated_source(w, side: str) -> int:
    pid = new_pilot(w, side)
    hq_run(w, playbook.adopt_package, pilot_id=pid, package_code=PACKAGE)
    for phase in ("pilot", "validating"):
        hq_run(w, lifecycle.transition, pilot_id=pid, to_phase=phase, rationale="矩阵测试推进阶段")
    return pid


def pack_bytes(w, actor, **kw) -> bytes:
    pack = db.run(playbook.pack, engine=w.engine, write=False, actor=actor, **kw)
    return pack_export.to_xlsx(pack) + pack_export.to_markdown(pack)


def xlsx_text(data: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r if v is not None)


def _pilot_name(w, side: str) -> str:
    return "青禾矩阵试点" if side == "own" else "白沙矩阵试点"


def setups(w, side: str) -> dict[str, Callable[[], Call]]:
    """Action key → a set-up (run as HQ before the measured call) returning the call."""
    p, c, b, n = w.pilot[side], w.contest[side], w.branch[side], next(_n)
    sid = w.staff_ids[side][0]
    has = lambda key, value: (lambda r: value in set(r[key]))  # noqa: E731
    return {
        "pilots.create": lambda: call(w, pilots.create_pilot, name=f"新试点{n}", branch_id=b, start_date=LATER),
        "pilots.update": lambda: call(w, pilots.update_pilot, pilot_id=p, name=_pilot_name(w, side)),
        "pilots.get": lambda: read(w, pilots.get_pilot, pilot_id=p),
        "pilots.list": lambda: read(w, pilots.list_pilots, seen=has("id", p)),
        "pilots.coach_options": lambda: read(w, pilots.coach_options),
        "users.create": lambda: call(w, users.create_user, username=f"u{uuid.uuid4().hex[:10]}",
                                     password=factories.PASSWORD, role="branch_lead", branch_ids=[b]),
        "users.update": lambda: call(w, users.update_user, username=w.target[side], display_name=f"改名{n}"),
        "users.reset_password": lambda: call(w, users.reset_password, username=w.target[side],
                                             new_password=f"Another-Pass-{n}"),
        "users.list": lambda: read(w, users.list_users),
        "account.language": lambda: call(w, flip_language),
        "profile.my_profile": lambda: read(w, profile.my_profile),
        "org.branch_options": lambda: read(w, org.branch_options, seen=lambda r: b in r),
        "org.branch_table": lambda: read(w, org.branch_table),
        "org.staff_table": lambda: read(w, org.staff_table, branch_id=b, seen=lambda r: not r.empty),
        "audit.search": lambda: read(w, audit.search),
        "playbook.read": lambda: read(w, playbook.match, wecom_status="none", goal="new_accounts", segment="payroll"),
        "playbook.adopt": lambda: call(w, playbook.adopt_package, pilot_id=p, package_code=PACKAGE),
        "playbook.pack": lambda: read(w, playbook.pack, pilot_id=p),
        "targets.set": lambda: call(w, targets.set_target, pilot_id=p, metric="wecom_adds", week=1, value=str(n)),
        "targets.list": lambda: read(w, targets.list_targets, pilot_id=p),
        "kpis.progress": lambda: read(w, kpis.pilot_progress, pilot_id=p),
        "qa.create": lambda: call(w, qa.create_entry, category="unable", question_zh=f"新问题{n}", source_pilot_id=p),
        "qa.update": lambda: call(w, qa.update_entry, entry_id=w.qa[side], answer_zh=f"答案{n}"),
        "qa.publish": lambda: call(w, qa.set_status, status="published", entry_id=hq_run(
            w, qa.create_entry, category="unable", question_zh=f"草稿{n}", answer_zh="答", source_pilot_id=p)),
        "qa.search": lambda: read(w, qa.search, seen=lambda r: bool(r.set_index("id").loc[w.qa[side], "source_pilot"])),
        "qa.get_entry": lambda: read(w, qa.get_entry, entry_id=w.qa[side]),
        "sop.instantiate": lambda: call(w, sop.instantiate, template_codes=list(sop.BASE_TEMPLATES),
                                        pilot_id=new_pilot(w, side, coaches=[w.coach_of[side]])),
        "sop.complete": lambda: call(w, sop_items.complete, item_id=hq_run(
            w, sop_items.add_item, pilot_id=p, title=f"事项{n}", due_date=TODAY, owner_role="branch_lead",
            assignee_user_id=w.lead.user_id if side == "own" else None)["id"]),
        "sop.add": lambda: call(w, sop_items.add_item, pilot_id=p, title=f"临时事项{n}", due_date=TODAY,
                                owner_role="coach"),
        "sop.update": lambda: call(w, sop_items.update_item, due_date=TODAY + timedelta(days=1), assignee_user_id=None,
                                   item_id=hq_run(w, sop_items.add_item, pilot_id=p, title=f"改期{n}", due_date=TODAY,
                                                  owner_role="coach")["id"]),
        "sop.checklist": lambda: read(w, sop_views.pilot_checklist, pilot_id=p),
        "sop.completion": lambda: read(w, sop_views.completion, pilot_ids=[p]),
        "sop.items_due": lambda: read(w, sop_views.items_due, pilot_ids=[p], start=START, end=TODAY),
        "sop.agenda": lambda: read(w, sop_views.agenda, days=400, seen=lambda r: p in set(r["items"]["pilot_id"])),
        "reports.load": lambda: read(w, reports.load_report, pilot_id=p, report_date=TODAY),
        "reports.check": lambda: read(w, reports.check_report, pilot_id=p, report_date=TODAY,
                                      staff_values={sid: {"wecom_adds": 1}}),
        "reports.save": lambda: call(w, reports.save_report, pilot_id=p, report_date=TODAY, expected_version=None,
                                     staff_values={sid: {"wecom_adds": n % 50 + 1}}),
        "reports.import": lambda: call(w, report_import.import_reports, pilot_id=p, filename="r.xlsx",
                                       data=workbook(w, side, TODAY - timedelta(days=1), n % 50 + 1)),
        "reports.blocker_draft": lambda: (hq_run(w, reports.save_report, pilot_id=p, report_date=TODAY - timedelta(2),
                                                 expected_version=None, blockers="名单质量差"),
                                          call(w, reports.blocker_draft, pilot_id=p, category="unwilling",
                                               report_date=TODAY - timedelta(days=2)))[1],
        "metrics.totals": lambda: read(w, metrics.totals, pilot_ids=[p], start=START, end=TODAY),
        "metrics.rates": lambda: read(w, metrics.rates, pilot_ids=[p], start=START, end=TODAY),
        "metrics.trend": lambda: read(w, metrics.trend, pilot_id=p, codes=["wecom_adds"], start=START, end=TODAY),
        "metrics.missing_reports": lambda: read(w, metrics.missing_reports, pilot_ids=[p]),
        # the pilot must have a report to have totals: saved here, not left to other cases' order
        "metrics.visible": lambda: (hq_run(w, reports.save_report, pilot_id=p, report_date=START, expected_version=None,
                                           staff_values={sid: {"wecom_adds": 1}}),
                                    read(w, metrics.totals, start=START, end=TODAY, seen=has("pilot_id", p)))[1],
        "contests.create": lambda: call(w, contests.create_contest, name=f"PK{n}", pilot_id=p, start_date=START,
                                        end_date=TODAY),
        "contests.update": lambda: call(w, contests.update_contest, contest_id=c, name=f"矩阵PK{side}"),
        "contests.webhook": lambda: call(w, contests.set_webhook, contest_id=c, url=WEBHOOK),
        "contests.award": lambda: call(w, points.request_award, contest_id=c, staff_id=sid, points="1",
                                       reason="通关考核"),
        "contests.decide": lambda: call(w, points.decide_award, approve=True, award_id=db.run(
            points.request_award, engine=w.engine, actor=w.coach_of[side], contest_id=c, staff_id=sid, points="30",
            reason="本周最佳话术")["id"]),
        "contests.reverse": lambda: call(w, points.reverse_entry, entry_id=award_entry(w, side), reason="录入错误"),
        "contests.resync": lambda: call(w, points.resync_contest, contest_id=c),
        "contests.pairs": lambda: call(w, leaderboard.make_pairs, contest_id=c, week_of=TODAY),
        "contests.push": lambda: (hq_run(w, contests.set_webhook, contest_id=c, url=WEBHOOK),
                                  read(w, robot.prepare, contest_id=c))[1],
        "contests.info": lambda: read(w, contests.contest_info, contest_id=c),
        "contests.list": lambda: read(w, contests.contest_choices, seen=lambda r: c in r),
        "contests.pending": lambda: read(w, points.pending_awards, seen=has("contest_id", c)),
        "leaderboard.board": lambda: read(w, leaderboard.leaderboard, contest_id=c),
        "leaderboard.team": lambda: read(w, leaderboard.team_board, contest_id=c),
        "leaderboard.breakdown": lambda: read(w, leaderboard.breakdown, contest_id=c,
                                              staff_id=w.staff.staff_id if side == "own" else sid),
        "leaderboard.pairs": lambda: read(w, leaderboard.pairs_board, contest_id=c),
        "leaderboard.my_standing": lambda: read(w, leaderboard.my_standing, contest_id=c),
        "leaderboard.my_contests": lambda: read(w, leaderboard.my_contests, seen=lambda r: c in r),
        "budget.add": lambda: call(w, budget_lines.add_line, pilot_id=p, category="training", description="讲师费",
                                   planned="10"),
        "budget.update": lambda: call(w, budget_lines.update_line, description=f"改{n}", line_id=new_line(w, p)),
        "budget.advance": lambda: call(w, budget_lines.advance_line, to_status="committed", line_id=new_line(w, p)),
        "budget.cancel": lambda: call(w, budget_lines.cancel_line, line_id=new_line(w, p)),
        "budget.override": lambda: call(w, budget.approve_override, pilot_id=p, amount="1", reason="额外培训费用批准"),
        "budget.template": lambda: call(w, budget_lines.apply_package_template, pilot_id=p),
        "budget.overview": lambda: read(w, budget_views.overview, pilot_id=p),
        "budget.summary": lambda: read(w, budget.summary, seen=has("pilot_id", p)),
        "budget.lines_changed": lambda: read(w, budget.lines_changed, pilot_ids=None, start=START, end=LATER,
                                             seen=has("pilot_id", p)),
        "lifecycle.transition": lambda: call(w, lifecycle.transition, to_phase="pilot", rationale="按计划启动试点",
                                             pilot_id=new_pilot(w, side, coaches=[w.coach_of[side]])),
        "lifecycle.measure": lambda: call(w, lifecycle.record_measurement, pilot_id=p, code="nps", value="75"),
        "lifecycle.scorecard": lambda: read(w, lifecycle.scorecard, pilot_id=p),
        "lifecycle.decisions": lambda: read(w, lifecycle.decisions, pilot_id=p),
        "maturity.assess": lambda: read(w, maturity.assess, branch_id=b),
        "maturity.confirm": lambda: call(w, maturity.confirm, branch_id=b, stage=1, note="人工确认阶段一"),
        "maturity.tune": lambda: call(w, maturity.tune_threshold, criterion_code=w.criterion[0],
                                      threshold=w.criterion[1]),
        "scaleout.sources": lambda: read(w, scaleout.source_choices),
        "scaleout.candidates": lambda: read(w, scaleout.candidates, source_pilot_id=p),
        "scaleout.create": lambda: call(w, scaleout.create_wave, source_pilot_id=validated_source(w, side),
                                        branch_ids=[w.ids["branch"]], start_date=TODAY + timedelta(days=7),
                                        request_key=uuid.uuid4().hex),
        "scaleout.waves": lambda: read(w, scaleout.waves),
        "capability.record": lambda: call(w, capability.record, branch_id=b, scores=dict.fromkeys(w.capabilities, 3)),
        "capability.history": lambda: read(w, capability.history, branch_id=b),
        "portfolio.portfolio": lambda: read(w, portfolio.portfolio, seen=has("pilot_id", p)),
        "portfolio.notes": lambda: read(w, portfolio.pilot_notes, pilot_id=p),
        # exports and downloads: the bytes a page or the CLI hands out
        "playbook_pilot_pack": lambda: Call(lambda a: pack_bytes(w, a, pilot_id=p)),
        "playbook_package": lambda: Call(lambda a: pack_bytes(w, a, package_code=PACKAGE)),
        "qa_manual": lambda: Call(lambda a: qa_export.to_xlsx(db.run(qa.manual, engine=w.engine, write=False,
                                                                    actor=a), lang="zh"),
                                  seen=lambda data: _pilot_name(w, side) in xlsx_text(data)),
        "report_template": lambda: Call(lambda a: template_via_page(w, a, p)),
        "weekly_review": lambda: Call(lambda a: weekly.build(actor=a, week=weekly.week_label(TODAY - timedelta(7)),
                                                             pilot_ids=[p], engine=w.engine)),
    }


def template_via_page(w, actor, pilot_id: int) -> bytes:
    """The daily-report page's deferred download: the actor is bound when the page runs."""
    real = db.get_engine
    db.get_engine = lambda: w.engine
    try:
        return report_import.template_download(actor, pilot_id=pilot_id, start=START, end=TODAY)()
    finally:
        db.get_engine = real


def new_line(w, pilot_id: int) -> int:
    return hq_run(w, budget_lines.add_line, pilot_id=pilot_id, category="materials", description="物料", planned="1")


def flip_language(session, *, actor) -> None:
    from models.org import User

    current = session.get(User, actor.user_id).language
    users.set_language(session, actor=actor, language="en" if current == "zh" else "zh")


def fingerprint(engine) -> dict[str, str]:
    """A hash of every row of every table, the audit log's "denied" rows left out (a refusal
    is audited; nothing else may change)."""
    out = {}
    with Session(engine) as s:
        for table in SQLModel.metadata.sorted_tables:
            order = [c for c in table.primary_key.columns] or list(table.columns)
            stmt = select(table).order_by(*order)
            if table.name == AuditLog.__tablename__:
                stmt = stmt.where(table.c.outcome != "denied")
            rows = s.execute(stmt).all()
            out[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


def audit_since(engine, last_id: int) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id)).scalars())


def last_audit_id(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.coalesce(func.max(AuditLog.id), 0))).scalar_one()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    with clock.frozen(NOW), _database(request.param, tmp_path_factory.mktemp("matrix"),
                                      migrations_only=False) as engine:
        yield build_world(engine)


def check_cell(w, key: str, role: str, side: str, expected: str) -> None:
    actor = w.actors[role]
    with clock.frozen(NOW):
        the_call = setups(w, side)[key]()
        before, last = fingerprint(w.engine), last_audit_id(w.engine)
        if expected == DENY:
            with pytest.raises(PermissionDenied):
                the_call.run(actor)
            assert fingerprint(w.engine) == before, "a refused call changed data"
            new = audit_since(w.engine, last)
            assert new and all(r.outcome == "denied" and r.actor_username == actor.username for r in new), \
                [(r.action, r.outcome, r.actor_username) for r in new]
            return
        result = the_call.run(actor)
        if the_call.seen is not None:
            assert the_call.seen(result) == (expected == ALLOW), f"target {'missing' if expected == ALLOW else 'shown'}"
        else:
            assert expected == ALLOW, "no visibility check for a 'hide' cell"


@pytest.mark.parametrize(("key", "role", "side", "expected"), cells("service") + cells("export"))
def test_access_cell(world, key, role, side, expected):
    check_cell(world, key, role, side, expected)


def test_every_row_has_a_call_and_every_call_a_row():
    keys = {r.key for r in rows("service")} | {r.key for r in rows("export")}
    fake = SimpleNamespace(pilot={"own": 1, "other": 2}, contest={"own": 1, "other": 2}, branch={"own": 1, "other": 2},
                           staff_ids={"own": [1, 2], "other": [3, 4]}, qa={"own": 1, "other": 2},
                           target={"own": "a", "other": "b"})
    assert set(setups(fake, "own")) == keys


def test_matrix_roles_are_the_portals_roles():
    from models.org import Role

    assert set(ROLES) == {r.value for r in Role}
    assert {c[3] for c in cells("service")} == {ALLOW, HIDE, DENY}


def test_pilot_notes_show_a_branch_lead_no_draft_questions(world):
    with clock.frozen(NOW):
        hq_run(world, qa.create_entry, category="unable", question_zh="矩阵草稿：尚未审定的问题",
               source_pilot_id=world.pilot["own"])
        notes = db.run(portfolio.pilot_notes, engine=world.engine, write=False, actor=world.lead,
                       pilot_id=world.pilot["own"])
    assert "矩阵草稿：尚未审定的问题" not in [q["question_zh"] for q in notes["qa"]]
