"""Concurrency and durability on SQLite and PostgreSQL: racing writers, a refusal after partial
writes, a process killed in the middle of an import, PostgreSQL serialization failures retried.
The storage faults (backup under load and restore, read-only database, full disk) are in
tests/test_security_storage.py; SCENARIOS lists them all (the README figure counts it)."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from models.audit import AuditLog
from models.budget import BudgetLine
from models.contests import ManualAward, PointEntry
from models.org import Branch
from models.pilot import PilotTarget
from models.reports import DailyReport
from portal import (
    budget,
    budget_lines,
    clock,
    contests,
    db,
    points,
    report_import,
    reports,
    targets,
)
from portal.access import CLI_ACTOR
from portal.errors import Conflict, ValidationFailed
from tests import factories
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = (
    "50 parallel point awards to one person",
    "two racing spends against the cap",
    "two coaches saving the same report",
    "a refusal after partial writes rolls everything back",
    "a process killed in the middle of an import",
    "an online backup under write load",
    "restoring that backup as the portal database",
    "a read-only database",
    "a full disk",
    "a PostgreSQL serialization failure (40001) retried",
    "a serialization failure injected once, retried",
)


def count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def is_pg(engine) -> bool:
    return engine.dialect.name == "postgresql"


@pytest.fixture
def world(engine):
    ids = factories.org(engine)
    a = ids["subs"][0]
    coach, coach2 = factories.user(engine, "coach"), factories.user(engine, "coach")
    w = {"engine": engine, "ids": ids, "coach": coach, "coach2": coach2,
         "hq": factories.user(engine, "hq", branch_ids=[ids["head"]]),
         "lead": factories.user(engine, "branch_lead", branch_ids=[a]), "staff": ids["staff"]["A"]}
    w["start"] = clock.today() - timedelta(days=12)
    w["pilot"] = factories.pilot(engine, a, coaches=[coach, coach2], start=w["start"])
    return w


def test_fifty_parallel_awards_to_one_person_add_up_exactly(world):
    engine, person = world["engine"], world["staff"][0]
    cid = db.run(contests.create_contest, engine=engine, actor=world["coach"], name="PK", pilot_id=world["pilot"],
                 start_date=world["start"], end_date=clock.today())
    gate = threading.Barrier(16, timeout=30)

    def award(i):
        if i < 16:
            gate.wait()  # the first sixteen start at the same instant
        return db.run(points.request_award, engine=engine, actor=world["coach"] if i % 2 else world["hq"],
                      contest_id=cid, staff_id=person, points="1.25", reason=f"并发奖励{i}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(award, range(50)))
    assert len({r["id"] for r in results}) == 50 and {r["status"] for r in results} == {"approved"}
    with Session(engine) as s:
        total = s.exec(select(func.sum(PointEntry.points_c)).where(PointEntry.contest_id == cid,
                                                                   PointEntry.staff_id == person)).one()
    assert total == 50 * 125
    assert count(engine, ManualAward) == 50 and count(engine, PointEntry, PointEntry.source == "manual") == 50
    assert count(engine, AuditLog, AuditLog.action == "contests.award") == 50


def test_two_racing_spends_against_the_cap_exactly_one_wins(world, monkeypatch):
    real = budget.totals

    def slow(*args, **kw):  # read the sum, then dawdle: without the lock both would pass
        result = real(*args, **kw)
        time.sleep(0.05)
        return result

    monkeypatch.setattr(budget, "totals", slow)
    gate, outcomes = threading.Barrier(2, timeout=30), []

    def spend(actor):
        gate.wait()
        try:
            db.run(budget_lines.add_line, engine=world["engine"], actor=actor, pilot_id=world["pilot"],
                   category="training", description="讲师费", status="committed", actual="60,000")
            outcomes.append("ok")
        except ValidationFailed as exc:
            outcomes.append(exc.key)

    threads = [threading.Thread(target=spend, args=(a,)) for a in (world["coach"], world["lead"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["budget.err_cap", "ok"]
    assert count(world["engine"], BudgetLine) == 1
    assert count(world["engine"], AuditLog, AuditLog.action == "budget.add") == 1


def test_two_coaches_saving_the_same_report_one_wins_the_other_gets_conflict(world):
    engine, person, day = world["engine"], world["staff"][0], clock.today()
    for version in (0, 1):
        gate, outcomes = threading.Barrier(2, timeout=30), {}

        def save(actor, value, version=version, gate=gate, outcomes=outcomes):
            gate.wait()
            try:
                db.run(reports.save_report, engine=engine, actor=actor, pilot_id=world["pilot"], report_date=day,
                       expected_version=version, staff_values={person: {"wecom_adds": value}})
                outcomes[value] = "ok"
            except Conflict as exc:
                outcomes[value] = exc.key

        threads = [threading.Thread(target=save, args=(world["coach"], 10 + version)),
                   threading.Thread(target=save, args=(world["coach2"], 20 + version))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes.values()) == ["ok", "reports.err_conflict"], outcomes
        winner = next(v for v, o in outcomes.items() if o == "ok")
        rep = db.run(reports.load_report, engine=engine, write=False, actor=world["hq"], pilot_id=world["pilot"],
                     report_date=day)
        assert rep["version"] == version + 1 and rep["grid"].set_index("staff_id").loc[person, "wecom_adds"] == winner
    assert count(engine, DailyReport) == 1 and count(engine, AuditLog, AuditLog.action == "reports.save") == 2


def test_a_refusal_after_partial_writes_rolls_everything_back(world):
    """create_contest flushes the contest, then finds an unknown branch: nothing may stay."""
    engine = world["engine"]
    before = count(engine, AuditLog)
    with pytest.raises(ValidationFailed):
        db.run(contests.create_contest, engine=engine, actor=world["hq"], name="半截赛事", start_date=clock.today(),
               end_date=clock.today(), branch_ids=[world["ids"]["subs"][0], 987654])
    from models.contests import Contest, ContestBranch

    assert count(engine, Contest) == 0 and count(engine, ContestBranch) == 0
    assert count(engine, AuditLog) == before


def database_url(engine) -> str:
    """A URL a separate process can use for this test's database (its own schema on PostgreSQL)."""
    if not is_pg(engine):
        return f"sqlite:///{engine.url.database}"
    with engine.connect() as conn:
        schema_name = conn.exec_driver_sql("select current_schema()").scalar()
    return f"{PG_URL}?options={quote(f'-csearch_path={schema_name}')}"


KILLED_IMPORT = """
import sys, time
from portal import cli, report_store
real, calls = report_store.write, []
def slow(*args, **kw):
    result = real(*args, **kw)
    calls.append(1)
    if len(calls) == 3:  # three days written, the transaction still open
        print("MID-IMPORT", flush=True)
        time.sleep(300)
    return result
report_store.write = slow
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_process_killed_in_the_middle_of_an_import_leaves_nothing(world, tmp_path):
    engine, pilot = world["engine"], world["pilot"]
    data = db.run(report_import.template_data, engine=engine, write=False, actor=world["hq"], pilot_id=pilot,
                  start=world["start"], end=clock.today() - timedelta(days=1))
    column = next(i for i, (head, _) in enumerate(data["staff_columns"]) if head.endswith("[wecom_adds]"))
    for row in data["staff_rows"]:
        row[column] = 7
    from exports import report_template

    path = tmp_path / "reports.xlsx"
    path.write_bytes(report_template.build(data))
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url(engine)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, "import", "reports", str(path), "--pilot",
                             str(pilot)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "MID-IMPORT", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        with suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert count(engine, DailyReport) == 0 and count(engine, AuditLog, AuditLog.action == "reports.import") == 0
    if not is_pg(engine):
        con = sqlite3.connect(engine.url.database)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    result = db.run(report_import.import_reports, engine=engine, actor=CLI_ACTOR, pilot_id=pilot,
                    data=path.read_bytes(), filename=path.name)  # the same file, imported again: all of it
    assert result["committed"] and count(engine, DailyReport) == len(result["dates"]) == 12


def test_postgres_serialization_failure_is_retried(world, caplog):
    engine = world["engine"]
    if not is_pg(engine):
        pytest.skip("SERIALIZABLE conflicts are PostgreSQL's; SQLite writers are serialised by BEGIN IMMEDIATE")
    with Session(engine) as s:
        s.add(Branch(code="X1", name="甲", level="branch", customer_base=100))
        s.add(Branch(code="X2", name="乙", level="branch", customer_base=100))
        s.commit()
    serial = engine.execution_options(isolation_level="SERIALIZABLE")
    gate, attempts = threading.Barrier(2, timeout=30), {"X1": 0, "X2": 0}

    def write_skew(session, *, mine: str):
        """Both read both rows, then each changes its own from the sum: a cycle only one may win."""
        total = session.exec(select(func.sum(Branch.customer_base)).where(Branch.code.in_(("X1", "X2")))).one()
        attempts[mine] += 1
        if attempts[mine] == 1:
            gate.wait()
        row = session.exec(select(Branch).where(Branch.code == mine)).one()
        row.customer_base = total
        session.add(row)
        session.flush()

    caplog.set_level(logging.INFO, logger="portal.db")
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda code: db.run(write_skew, engine=serial, mine=code), ("X1", "X2")))
    assert "retrying transaction" in caplog.text and sum(attempts.values()) >= 3
    with Session(engine) as s:
        values = sorted(s.exec(select(Branch.customer_base).where(Branch.code.in_(("X1", "X2")))).all())
    assert values == [200, 300]  # serial outcome: one saw 100 + 100, the other 200 + 100


def test_a_serialization_failure_injected_once_is_retried_without_duplicates(world, caplog):
    engine, failures = world["engine"], []

    def flaky(session, **kw):
        targets.set_target(session, **kw)
        if not failures:
            failures.append(1)
            raise OperationalError("COMMIT", {}, psycopg.errors.SerializationFailure("could not serialize access"))

    caplog.set_level(logging.INFO, logger="portal.db")
    db.run(flaky, engine=engine, actor=world["coach"], pilot_id=world["pilot"], metric="wecom_adds", week=1,
           value=str(uuid.uuid4().int % 1000))
    assert failures and "retrying transaction" in caplog.text
    assert count(engine, PilotTarget, PilotTarget.metric == "wecom_adds", PilotTarget.week == 1) == 1
    assert count(engine, AuditLog, AuditLog.action == "targets.set") == 1
