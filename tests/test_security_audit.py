"""The audit log: every write in the access matrix leaves who / what / when (UTC) / entity /
before-after, generically on SQLite and PostgreSQL; HQ's audit page finds it; text typed by
users can neither add lines nor fake columns (JSON storage, one record per row)."""

from __future__ import annotations

import argparse
import io
import re
import sys
import threading
from datetime import UTC, timedelta
from http.server import HTTPServer
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, select

from exports import qa as qa_export
from exports import report_template
from models.audit import AuditLog
from models.contests import Contest
from models.org import User
from models.pilot import Pilot
from portal import audit, cli, clock, contests, db, qa, report_import, users
from portal.access import CLI_ACTOR, load_actor
from portal.cli import admin
from portal.errors import PermissionDenied, ValidationFailed
from tests.apptest import goto, open_as
from tests.conftest import BACKENDS, _database
from tests.security_matrix import rows
from tests.test_security_access import NOW, audit_since, build_world, last_audit_id, setups

WRITES = [r.key for r in rows("service") if r.write]
NOTHING_TO_SHOW = {"users.reset_password"}  # the fact is audited; a password has no before/after to show
FORGED = 'fine\n2026-11-18 09:00 | hq_wang | users.update | ok\r\n"}, {"action": "users.update", "outcome": "ok'


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    with clock.frozen(NOW), _database(request.param, tmp_path_factory.mktemp("audit"),
                                      migrations_only=False) as engine:
        yield build_world(engine)


@pytest.mark.parametrize("key", WRITES)
def test_every_write_is_audited_with_who_what_when_entity_and_change(world, key):
    actor = world.actors["hq"]
    with clock.frozen(NOW):
        the_call = setups(world, "own")[key]()
        last = last_audit_id(world.engine)
        the_call.run(actor)
        new = audit_since(world.engine, last)
    assert new, f"{key} wrote no audit row"
    for row in new:
        assert row.outcome == "ok" and row.actor_user_id == actor.user_id and row.actor_username == actor.username
        assert row.at.tzinfo is not None and row.at.utcoffset() == timedelta(0) and row.at == NOW.astimezone(UTC)
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", row.action) and row.entity and row.entity_id
    assert key in NOTHING_TO_SHOW or any(r.before is not None or r.after is not None for r in new)


def test_writes_in_the_matrix_are_the_audited_ones():
    assert len(WRITES) >= 30
    sources = (Path(audit.__file__).parent).glob("*.py")
    builders = [p.name for p in sources if "AuditLog(" in p.read_text(encoding="utf-8")]
    assert builders == ["audit.py"]  # one writer of audit rows: append-only, through audit.record
    deletes = [p.name for p in Path(audit.__file__).parent.rglob("*.py")
               if re.search(r"(delete|update)\(AuditLog", p.read_text(encoding="utf-8"))]
    assert not deletes


def test_user_text_cannot_forge_audit_lines_or_columns(engine):
    """A multi-line answer with fake log lines and JSON punctuation becomes one JSON value in
    one audit row, one cell on the audit page's table, one cell in the export."""
    before = last_audit_id(engine)
    eid = db.run(qa.create_entry, engine=engine, actor=CLI_ACTOR, category="unable", question_zh="伪造审计？",
                 answer_zh=FORGED, status="published")
    new = audit_since(engine, before)
    assert [(r.action, r.entity_id) for r in new] == [("qa.create", str(eid))]
    assert new[0].after["answer_zh"] == FORGED.replace("\r\n", "\n")
    df = db.run(audit.search, engine=engine, write=False, actor=CLI_ACTOR, text=str(eid))
    assert len(df) == 1 and df.iloc[0]["action"] == "qa.create" and df.iloc[0]["user"] == "cli"
    assert "\n" not in df.iloc[0]["after"] and "users.update" in df.iloc[0]["after"]  # shown escaped, one line
    for bad in ("伪造\x1b[2K审计", "伪造\u202e审计", "一行\n两行"):  # erase-line, direction flip, one-line field
        with pytest.raises(ValidationFailed):
            db.run(qa.create_entry, engine=engine, actor=CLI_ACTOR, category="unable", question_zh=bad)
    assert [r.action for r in audit_since(engine, before)] == ["qa.create"]
    wb = openpyxl.load_workbook(io.BytesIO(qa_export.to_xlsx(db.run(qa.manual, engine=engine, write=False,
                                                                     actor=CLI_ACTOR), lang="zh")))
    cells = [c for ws in wb.worksheets for r in ws.iter_rows() for c in r if c.value and "users.update" in str(c.value)]
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_hq_audit_page_searches_the_log(demo_db):
    staff = db.run(lambda session: load_actor(session, session.exec(
        select(User.id).where(User.username == "staff_demo")).one()), write=False)
    with pytest.raises(PermissionDenied):
        db.run(users.list_users, write=False, actor=staff)
    at = open_as("hq_wang")
    goto(at, "audit_log")
    assert not at.exception and at.dataframe
    everything = at.dataframe[0].value
    assert len(everything) > 10 and {"ok", "denied"} <= set(everything["outcome"])
    at.text_input[0].input("staff_demo").run()
    found = at.dataframe[0].value
    assert len(found) >= 1 and set(found["user"]) == {"staff_demo"} and "users.list" in set(found["action"])
    at.text_input[0].input("").run()
    at.selectbox[0].select("denied").run()
    denied = at.dataframe[0].value
    assert len(denied) >= 1 and set(denied["outcome"]) == {"denied"}
    with Session(demo_db) as s:
        total_denied = len(s.exec(select(AuditLog.id).where(AuditLog.outcome == "denied")).all())
    assert len(denied) == total_denied


def cli_commands() -> set[str]:
    """Every leaf command of `pilot-portal` ("user add", "export qa" …)."""
    def walk(parser, prefix: str = "") -> list[str]:
        out = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out += walk(sub, f"{prefix}{name} ") or [f"{prefix}{name}"]
        return out
    return set(walk(cli.build_parser()))


def test_every_cli_command_runs_as_the_operator_and_its_writes_are_audited_as_cli(demo_db, tmp_path, monkeypatch,
                                                                                 capsys):
    """The matrix's CLI rows are exactly the commands there are; each runs with the operator's
    rights (CLI_ACTOR) and every write it makes is audited under "cli"."""
    from tests.test_security_auth import _Robot

    assert {r.key for r in rows("cli")} == cli_commands()
    robot = HTTPServer(("127.0.0.1", 0), _Robot)
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    pilot = db.run(lambda session: session.exec(select(Pilot.id).where(Pilot.phase == "pilot")
                                                .order_by(Pilot.id)).first(), write=False)
    contest = db.run(lambda session: session.exec(select(Contest.id).where(Contest.pilot_id == pilot)).first(),
                     write=False)
    db.run(contests.set_webhook, actor=CLI_ACTOR, contest_id=contest, url=f"http://127.0.0.1:{robot.server_port}/k")
    data = db.run(report_import.template_data, write=False, actor=CLI_ACTOR, pilot_id=pilot,
                  start=clock.today() - timedelta(days=1), end=clock.today() - timedelta(days=1))
    column = next(i for i, (head, _) in enumerate(data["staff_columns"]) if head.endswith("[touches_1v1]"))
    data["staff_rows"][0][column] = (data["staff_rows"][0][column] or 0) + 1  # a real change, no rule touched
    (tmp_path / "r.xlsx").write_bytes(report_template.build(data))
    served = []
    monkeypatch.setattr(admin.subprocess, "call", lambda cmd, **kw: served.append(cmd) or 0)
    runs = {
        "init": (["init"], ""), "demo": (["demo", "--no-serve"], ""), "serve": (["serve", "--port", "8999"], ""),
        "backup": (["backup", "--out", str(tmp_path / "b.db")], ""),
        "user add": (["user", "add", "ops_new", "--role", "hq"], "Ops-Pass-2026\n"),
        "user passwd": (["user", "passwd", "ops_new"], "Ops-Pass-2027\n"),
        "user disable": (["user", "disable", "ops_new"], ""), "user enable": (["user", "enable", "ops_new"], ""),
        "user list": (["user", "list"], ""),
        "import reports": (["import", "reports", str(tmp_path / "r.xlsx"), "--pilot", str(pilot)], ""),
        "export playbook": (["export", "playbook", "--pilot", str(pilot), "--out", str(tmp_path / "p.xlsx")], ""),
        "export qa": (["export", "qa", "--out", str(tmp_path / "q.md")], ""),
        "export weekly": (["export", "weekly", "--pilot", str(pilot), "--out", str(tmp_path / "w.xlsx")], ""),
        "push ranking": (["push", "ranking", "--contest", str(contest)], ""),
    }
    assert set(runs) == cli_commands()
    before = last_audit_id(demo_db)
    for key, (argv, stdin) in runs.items():
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        assert cli.main(argv) == 0, (key, capsys.readouterr().err)
    robot.shutdown()
    assert served and "--server.enableXsrfProtection=true" in served[0]
    written = audit_since(demo_db, before)
    assert {r.action for r in written} >= {"users.create", "users.reset_password", "users.update", "reports.import",
                                           "contests.push", "weekly.export"}
    assert all(r.actor_username == "cli" and r.actor_user_id is None and r.outcome == "ok" for r in written)
