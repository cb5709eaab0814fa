"""Storage faults on SQLite and PostgreSQL (the durability scenarios of
tests/test_security_durability.py that need files, disks or a second database): an online
backup under write load that passes its integrity check and restores, a read-only database
and a full disk each giving a clear message.

Read-only and full disk use a real tmpfs (mounted here when the test runs as root with
CAP_SYS_ADMIN): a read-only remount, and one sized just above the database. Without that
permission a full disk is simulated with SQLite's `max_page_count` (same SQLITE_FULL error)
and the read-only case is skipped (root ignores file modes). On PostgreSQL the read-only case
is a session whose transactions default to read-only (SQLSTATE 25006); the backup is pg_dump
of a scratch database restored with pg_restore into another one."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from streamlit.testing.v1 import AppTest

from models.audit import AuditLog
from models.budget import BudgetLine
from models.playbook import QaEntry
from portal import budget, budget_lines, cli, clock, db, qa, schema
from portal.errors import StorageError
from seed import loader
from tests import factories
from tests.conftest import BACKENDS, PG_URL, _database, _reset_caches
from tests.test_security_durability import ROOT, count, is_pg


@pytest.fixture
def world(engine):
    factories.org(engine)
    return {"engine": engine, "coach": factories.user(engine, "coach")}


@contextmanager
def portal_database(monkeypatch, url: str):
    monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    _reset_caches()
    try:
        yield db.get_engine()
    finally:
        db.get_engine().dispose()
        _reset_caches()


@contextmanager
def backup_source(backend: str, tmp_path: Path):
    """A database of its own (PostgreSQL: a scratch database, so pg_dump sees no other test's
    schema) with the seed content, an org, a coach and a pilot. Yields (url, world)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
        with _database("sqlite", tmp_path, migrations_only=False) as engine:
            engine.dispose()
            shutil.move(tmp_path / "test.db", tmp_path / "live.db")
            yield url
        return
    if not PG_URL:
        pytest.skip("PORTAL_TEST_POSTGRES_URL not set")
    with scratch_pg() as url:
        engine = db.make_engine(url)
        schema.upgrade(engine)
        SQLModel.metadata.create_all(engine)
        loader.load_all(engine)
        engine.dispose()
        yield url


@contextmanager
def scratch_pg():
    name = f"portal_bk_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_online_backup_under_write_load_passes_integrity_check_and_restores(backend, tmp_path, monkeypatch, capsys):
    if backend == "postgres" and not shutil.which("pg_restore"):
        pytest.skip("pg_dump/pg_restore not installed")
    with backup_source(backend, tmp_path) as url, portal_database(monkeypatch, url) as engine:
        ids = factories.org(engine)
        coach, hq = factories.user(engine, "coach"), factories.user(engine, "hq", branch_ids=[ids["head"]])
        pilot = factories.pilot(engine, ids["subs"][0], coaches=[coach])
        with engine.begin() as conn:  # ~30 MB of history, so the copy takes a while
            conn.execute(AuditLog.__table__.insert(), [{"at": clock.now_utc(), "action": "pad",
                                                        "after": {"x": "x" * 20_000}} for _ in range(1500)])
        stop, written = threading.Event(), []

        def writer():
            while not stop.is_set():
                written.append(db.run(budget_lines.add_line, actor=coach, pilot_id=pilot, category="materials",
                                      description="物料", planned="1"))

        threads = [threading.Thread(target=writer) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            while len(written) < 20:
                time.sleep(0.01)
            at_start, out = len(written), tmp_path / "backup" / "portal.db"
            out.parent.mkdir()
            code = cli.main(["backup", "--out", str(out)])
            during = len(written)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert code == 0 and (backend == "postgres" or "integrity_check: ok" in capsys.readouterr().out)
        assert len(written) > during >= at_start  # the writers kept going meanwhile
        revision = schema.current_revision(engine)
    with restored(backend, out, tmp_path) as copy_url, portal_database(monkeypatch, copy_url) as copy:
        assert schema.current_revision(copy) == revision
        lines = count(copy, BudgetLine)
        assert at_start <= lines <= len(written)  # one consistent moment of a live database
        summary = db.run(budget.summary, write=False, actor=hq)
        assert int(summary["plan_fen"].sum()) == lines * 100
        db.run(budget_lines.add_line, actor=coach, pilot_id=pilot, category="materials", description="恢复后",
               planned="1")
        assert count(copy, BudgetLine) == lines + 1


@contextmanager
def restored(backend: str, backup: Path, tmp_path: Path):
    """The backup restored the documented way: the SQLite file copied into place (checked with
    PRAGMA integrity_check), or pg_restore into an empty database."""
    if backend == "sqlite":
        target = tmp_path / "restored" / "portal.db"
        target.parent.mkdir()
        shutil.copy(backup, target)
        con = sqlite3.connect(target)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        yield f"sqlite:///{target}"
        return
    with scratch_pg() as url:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        result = subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", "--dbname", plain, str(backup)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        yield url


def _mount(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                                capture_output=True).returncode == 0


@contextmanager
def tmpfs(path: Path, size_kb: int):
    mounted = _mount(path, f"size={size_kb}k")
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def sqlite_copy(engine, target: Path) -> Path:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(engine.url.database, target)
    return target


def save_question(actor, engine=None, n: int = 0):
    return db.run(qa.create_entry, engine=engine, actor=actor, category="unable", question_zh=f"问题{n}",
                  answer_zh="答" * 5000)


def test_a_read_only_database_gives_a_clear_message(world, tmp_path, monkeypatch, capsys):
    engine = world["engine"]
    if is_pg(engine):
        with engine.connect() as conn:
            schema_name = conn.exec_driver_sql("select current_schema()").scalar()
        ro = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema_name} "
                                                            "-cdefault_transaction_read_only=on"})
        try:
            with pytest.raises(StorageError) as err:
                save_question(world["coach"], ro)
            assert db.run(qa.search, engine=ro, write=False, actor=world["coach"]).shape[0] >= 0  # reads work
        finally:
            ro.dispose()
    else:
        with tmpfs(tmp_path / "ro", 16 * 1024) as mounted:
            if not mounted:
                pytest.skip("needs a tmpfs mount (root with CAP_SYS_ADMIN): root ignores chmod")
            path = sqlite_copy(engine, tmp_path / "ro" / "portal.db")
            subprocess.run(["mount", "-o", "remount,ro", str(path.parent)], check=True)
            with portal_database(monkeypatch, f"sqlite:///{path}"):
                with pytest.raises(StorageError) as err:
                    save_question(world["coach"])
                assert cli.main(["user", "add", "ops", "--role", "hq"]) == 2
                at = AppTest.from_file(str(ROOT / "portal" / "app.py"), default_timeout=60).run()
                at.text_input[0].input("hq_wang")
                at.text_input[1].input("Pilot#Demo2026")
                at.button[0].click().run()  # signing in writes (session, audit): the page says why it cannot
                assert not at.exception and "只读" in at.error[0].value
            assert "只读" in capsys.readouterr().err
    assert err.value.key == "db.err_readonly"
    assert count(engine, QaEntry, QaEntry.code.is_(None)) == 0


def test_a_full_disk_gives_a_clear_message_and_keeps_the_database_whole(world, tmp_path, monkeypatch):
    engine = world["engine"]
    if is_pg(engine):
        pytest.skip("a full disk under PostgreSQL is the server's (SQLSTATE 53100 maps to the same message)")
    size_kb = Path(engine.url.database).stat().st_size // 1024 + 4096
    with tmpfs(tmp_path / "full", size_kb) as mounted:
        path = sqlite_copy(engine, (tmp_path / "full" if mounted else tmp_path) / "portal.db")
        with portal_database(monkeypatch, f"sqlite:///{path}") as small:
            if not mounted:  # simulate: the file may grow by 200 pages only
                event.listen(small, "connect", lambda con, _r: con.execute(
                    f"PRAGMA max_page_count={con.execute('PRAGMA page_count').fetchone()[0] + 200}"))
            saved = 0
            with pytest.raises(StorageError) as err:
                for n in range(10_000):
                    save_question(world["coach"], n=n)
                    saved += 1
            assert err.value.key == "db.err_full" and saved > 0
            assert count(small, QaEntry, QaEntry.code.is_(None)) == saved  # the failed one left nothing
            with small.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert db.run(qa.search, write=False, actor=world["coach"], text="问题1").shape[0] >= 1
